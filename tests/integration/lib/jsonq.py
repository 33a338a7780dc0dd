"""Read one value out of a JSON document, or check it: the JSON assertions
of the integration tests (lib/common.sh: json_get, expect_json).

  jsonq.py FILE PATH             print the value (a string as it is,
                                 anything else as compact JSON)
  jsonq.py FILE PATH [OP] ARG    exit 0 when the value satisfies OP ARG,
                                 else 1 with the value on stderr

PATH is segments separated by " | ". A segment is a path or a function.
A path is a sequence of steps:

  .key        a member of an object (.key? : null when it is missing)
  [N]         an element of an array (negative from the end)
  [k=v]       the one element of an array whose member k is the string v
              or the array [v] (an error when none or several);
              [k=v,k2=v2] for several members; v "null" matches null
  [?k=v]      the elements whose member k is v (also [?k!=v])
  []          every element of an array, or every value of an object: the
              rest of the segment applies to each
  .(a,b)      the members a and b as an array ([environment, check] pairs)

A function applies to the value of the segments before it: length, keys,
values, sort, unique (sorted, without repeats), flatten (one level),
lower, join (strings, one a line); "map F" applies F to each element.

A FILE ending in .xml (a JUnit report) is read as JSON of this shape: an
element is an object with its attributes, "tag" and "children" (its
child elements, in order), and the root also has "testcases", every
testcase element of the document.

OP is one of == (the default) and != (ARG as JSON, or as a string when it
is not JSON), =~ and !~ (a regular expression searched for in the value,
a string), has and lacks (a substring of a string, an element of an
array (ARG as JSON, or a string), a key of an object; null has nothing), >= and < (numbers).
"""

import json
import re
import sys

FUNCTIONS = {
    "length": len,
    "keys": lambda v: sorted(v),
    "values": lambda v: list(v.values()),
    "sort": sorted,
    "unique": lambda v: [json.loads(x) for x in sorted({json.dumps(e, sort_keys=True) for e in v})],
    "flatten": lambda v: [x for e in v for x in e],
    "lower": lambda v: v.lower(),
    "join": "\n".join,
}

STEP = re.compile(r"""
    \.\((?P<pick>[^)]*)\)
  | \.(?P<key>[A-Za-z_][A-Za-z0-9_-]*)(?P<opt>\??)
  | \[(?P<index>-?[0-9]+)\]
  | \[\?(?P<fkey>[A-Za-z_][A-Za-z0-9_-]*)(?P<fop>!?=)(?P<fval>[^\]]*)\]
  | \[(?P<select>[A-Za-z_][A-Za-z0-9_-]*=[^\]]*)\]
  | (?P<each>\[\])
""", re.X)


class PathError(Exception):
    pass


def parse(path):
    steps, pos = [], 0
    while pos < len(path):
        m = STEP.match(path, pos)
        if not m:
            raise PathError("bad path at %r" % path[pos:])
        steps.append(m)
        pos = m.end()
    return steps


def matches(member, v):
    return member == v or member == [v] or (member is None and v == "null")


def walk(value, steps):
    for i, m in enumerate(steps):
        if m.group("pick") is not None:
            value = [value[k.strip()] for k in m.group("pick").split(",")]
        elif m.group("key"):
            if not isinstance(value, dict):
                raise PathError(".%s of a non-object" % m.group("key"))
            if m.group("opt"):
                value = value.get(m.group("key"))
            elif m.group("key") in value:
                value = value[m.group("key")]
            else:
                raise PathError("no member %r in %s" % (m.group("key"), json.dumps(value)[:200]))
        elif m.group("index") is not None:
            value = value[int(m.group("index"))]
        elif m.group("fkey"):
            same = m.group("fop") == "="
            value = [e for e in value if (str(e.get(m.group("fkey"))) == m.group("fval")) == same]
        elif m.group("select"):
            want = [c.split("=", 1) for c in m.group("select").split(",")]
            found = [e for e in value if all(matches(e.get(k), v) for k, v in want)]
            if len(found) != 1:
                raise PathError("%d elements with %s" % (len(found), m.group("select")))
            value = found[0]
        else:
            items = value.values() if isinstance(value, dict) else value
            return [walk(e, steps[i + 1:]) for e in items]
    return value


def evaluate(doc, path):
    value = doc
    for seg in path.split(" | "):
        seg = seg.strip()
        if seg in FUNCTIONS:
            value = FUNCTIONS[seg](value)
        elif seg.startswith("map ") and seg[4:] in FUNCTIONS:
            value = [FUNCTIONS[seg[4:]](e) for e in value]
        elif seg:
            value = walk(value, parse(seg))
    return value


def element(e):
    return dict(e.attrib, tag=e.tag, children=[element(c) for c in e])


def load(path):
    if path.endswith(".xml"):
        import xml.etree.ElementTree as ET
        root = ET.parse(path).getroot()
        return dict(element(root), testcases=[element(c) for c in root.iter("testcase")])
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def literal(arg):
    try:
        return json.loads(arg)
    except ValueError:
        return arg


def holds(value, op, arg):
    if op == "==":
        return value == literal(arg)
    if op == "!=":
        return value != literal(arg)
    if op in ("=~", "!~"):
        return isinstance(value, str) and (re.search(arg, value) is not None) == (op == "=~")
    if op in ("has", "lacks"):
        item = arg if value is None or isinstance(value, str) else literal(arg)
        return (value is not None and item in value) == (op == "has")
    if op == ">=":
        return value >= literal(arg)
    if op == "<":
        return value < literal(arg)
    raise PathError("unknown operator %r" % op)


def show(value):
    return value if isinstance(value, str) else json.dumps(value)


def main(argv):
    if len(argv) not in (2, 3, 4):
        sys.exit("usage: jsonq.py FILE PATH [[OP] ARG]")
    try:
        doc = load(argv[0])
        value = evaluate(doc, argv[1])
        if len(argv) == 2:
            print(show(value))
            return 0
        op, arg = ("==", argv[2]) if len(argv) == 3 else (argv[2], argv[3])
        if holds(value, op, arg):
            return 0
        print("%s is %s" % (argv[1], json.dumps(value)), file=sys.stderr)
        return 1
    except (OSError, ValueError, SyntaxError, PathError, LookupError, TypeError, AttributeError) as e:
        print("%s: %s: %s" % (argv[0], argv[1], e), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
