"""Check JSON documents migsync wrote against the schemas of docs/json:
every document the integration tests produce (lib/common.sh spools each
stdout of a run with --format json and calls this once, at exit).

  json_schema.py SCHEMA_DIR LIST

LIST has one line per document: "NAME<TAB>FILE". Each file must be valid
UTF-8 holding exactly one JSON object whose "format" is
"migsync.COMMAND/1", and must satisfy SCHEMA_DIR/COMMAND.schema.json
(draft 2020-12; "$ref" to another file of SCHEMA_DIR is resolved there).
Prints one line per document: "ok NAME" or "bad NAME: why"; exits 1 when
any is bad.
"""

import json
import os
import re
import sys

import jsonschema

FORMAT = re.compile(r"^migsync\.([a-z][a-z0-9-]*)/([0-9]+)$")


def load_schemas(schema_dir):
    store = {}
    for name in sorted(os.listdir(schema_dir)):
        if name.endswith(".json"):
            with open(os.path.join(schema_dir, name), encoding="utf-8") as f:
                schema = json.load(f)
            jsonschema.Draft202012Validator.check_schema(schema)
            store[name] = schema
            store[schema["$id"]] = schema
    return store


def check(path, store):
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return "not UTF-8: %s" % e
    try:
        doc = json.loads(text)
    except ValueError as e:
        return "not one JSON document: %s: %r" % (e, text[:300])
    if not isinstance(doc, dict):
        return "not a JSON object"
    m = FORMAT.match(str(doc.get("format")))
    if not m:
        return "no \"format\": \"migsync.COMMAND/N\" (%r)" % doc.get("format")
    name = "%s.schema.json" % m.group(1)
    if name not in store:
        return "no schema docs/json/%s for format %s" % (name, doc["format"])
    schema = store[name]
    resolver = jsonschema.RefResolver(schema["$id"], schema, store=store)
    validator = jsonschema.Draft202012Validator(schema, resolver=resolver,
                                                format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        return "; ".join("%s at /%s" % (e.message[:300], "/".join(str(p) for p in e.absolute_path))
                         for e in errors[:5])
    return None


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: json_schema.py SCHEMA_DIR LIST")
    store = load_schemas(argv[0])
    bad = 0
    with open(argv[1], encoding="utf-8") as f:
        for line in f:
            name, path = line.rstrip("\n").split("\t", 1)
            why = check(path, store)
            if why:
                bad += 1
                print("bad %s: %s" % (name, why))
            else:
                print("ok %s" % name)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
