#!/usr/bin/env python3
"""Generate a random but valid Alembic project, for tests and benchmarks.

Usage:
  gen_alembic_project.py --out DIR [--seed N] [--revisions N]
                         [--style mixed|plain] [--script-location here|relative]

The project is DIR/alembic.ini, DIR/migrations/{env.py,script.py.mako} and
DIR/migrations/versions/*.py, plus DIR/manifest.json describing the graph
that was generated (revision -> down_revisions, depends_on resolved to ids,
own branch labels), for checkers that need the truth without Alembic.

The same seed, size and style always give byte-identical files.

--style mixed (default) exercises the reader: several bases, branch points,
merges (tuple, sometimes list, sometimes spread over several lines),
branch labels (unique, often on branch bases, sometimes two), depends_on
across branches (string, tuple, list, sometimes a branch label),
type-annotated assignments, single/double/triple quotes, CRLF line endings,
a UTF-8 BOM, latin-1 and cp1252 files with a coding line, docstrings with
one or several paragraphs or none, non-ASCII messages, and files Alembic skips: __init__.py, an emacs lock ".#x.py"
(a dangling symlink, as emacs makes it), notes.txt and __pycache__/.

--style plain writes what `alembic revision --autogenerate` writes with
the stock 1.8 template: one assignment layout, upgrade()/downgrade() bodies
with op.create_table and friends, 1-2 KB per file. Used by bench/.

Only the standard library is used; the output is valid Python that Alembic
1.8 imports as is.
"""

import argparse
import datetime
import json
import os
import random
import sys

WORDS = [
    "user", "account", "order", "invoice", "payment", "stock", "daily_bar",
    "finance", "sync_task", "sync_failure", "llm_config", "tenant", "audit",
    "session", "token", "role", "permission", "product", "price", "warehouse",
    "shipment", "customer", "address", "report", "metric", "event", "job",
    "queue", "webhook", "setting", "profile", "comment", "tag", "attachment",
]
VERBS = ["add", "create", "drop", "rename", "alter", "index", "backfill",
         "split", "merge", "extend", "fix", "remove"]
UNICODE_MESSAGES = [
    "添加同步任务表", "为股票日线增加索引", "naïve café résumé column",
    "Ünïcödé — em dash and “quotes”", "修复 finance 外键",
]
LABEL_WORDS = ["auth", "billing", "reporting", "tenants", "search", "ledger",
               "analytics", "sync", "catalog", "notify", "infra", "legacy"]


class Rev:
    __slots__ = ("idx", "id", "parents", "deps", "dep_names", "labels",
                 "message", "doc", "created", "children", "anc", "kind")

    def __init__(self, idx, rid):
        self.idx = idx
        self.id = rid
        self.parents = []      # ids, file order
        self.deps = []         # resolved ids
        self.dep_names = []    # as written (ids or labels)
        self.labels = []
        self.message = ""
        self.doc = None        # full docstring text, None = no docstring
        self.created = None
        self.children = []
        self.anc = 0           # bitmask of ancestors (down_revision + depends_on) incl. self
        self.kind = "extend"


def new_id(rng, used):
    while True:
        rid = "%012x" % rng.getrandbits(48)
        if rid not in used and not rid.isdigit():
            used.add(rid)
            return rid


def message_for(rng, style, kind):
    if kind == "merge":
        return rng.choice(["merge heads", "merge branches", "merge"])
    if style == "mixed" and rng.random() < 0.05:
        return rng.choice(UNICODE_MESSAGES)
    verb = rng.choice(VERBS)
    noun = rng.choice(WORDS)
    extra = rng.choice(["", "", " table", " column", " index", "s", " constraints"])
    msg = "%s %s%s" % (verb, noun, extra)
    if style == "mixed":
        r = rng.random()
        if r < 0.03:
            msg += " (it's \"quoted\")"
        elif r < 0.05:
            msg += " with backslash C:\\tmp"
        elif r < 0.07:
            msg = msg.capitalize() + "."
    return msg


def build_graph(rng, n, style):
    """Return the list of Rev in creation order."""
    used = set()
    revs = []
    by_id = {}
    heads = []                 # ids without children, oldest first
    label_owner = {}           # label -> id
    label_counter = [0]
    nbases = 1 + (rng.randint(1, 4) if style == "mixed" else rng.randint(0, 1))
    base_at = sorted(rng.sample(range(1, max(2, int(n * 0.7))), min(nbases - 1, max(0, int(n * 0.7) - 1))))
    max_heads = 6 if style == "mixed" else 3
    created = datetime.datetime(2019, 1, 7, 9, 30, 0)

    def new_label():
        label_counter[0] += 1
        return "%s_%d" % (rng.choice(LABEL_WORDS), label_counter[0])

    family = {}                # id -> index of the base it grew from
    nfam = 0
    for i in range(n):
        r = Rev(i, new_id(rng, used))
        created += datetime.timedelta(hours=rng.randint(1, 90), seconds=rng.randint(0, 3599),
                                      microseconds=rng.randint(0, 999999))
        r.created = created
        branch_start = False
        fam_heads = {}
        for h in heads:
            fam_heads.setdefault(family[h], []).append(h)
        mergeable = [hs for hs in fam_heads.values() if len(hs) >= 2]
        if i == 0 or (base_at and base_at[0] == i):
            if base_at and base_at[0] == i:
                base_at.pop(0)
            r.kind = "base"
            branch_start = True
            fam = nfam
            nfam += 1
        elif (mergeable and (len(heads) > max_heads or rng.random() < 0.06)) or \
                (len(heads) >= 2 and rng.random() < 0.004):
            # merge heads of one family; now and then two families
            r.kind = "merge"
            pool = rng.choice(mergeable) if mergeable and rng.random() < 0.9 else heads
            if len(pool) < 2:
                pool = heads
            k = 3 if (len(pool) >= 3 and rng.random() < 0.15) else 2
            r.parents = rng.sample(pool, k)
        elif rng.random() < 0.06 and len(revs) > 3:
            # branch off a recent revision that already has a child
            cands = [x for x in revs[-40:] if x.children]
            if cands:
                r.kind = "branch"
                r.parents = [rng.choice(cands).id]
                branch_start = True
        if r.kind in ("extend",) or (r.kind == "branch" and not r.parents):
            r.kind = "extend"
            # prefer the newest heads, but let old ones move on too
            if rng.random() < 0.7:
                r.parents = [heads[-1]]
            else:
                r.parents = [rng.choice(heads)]
        if r.parents:
            fam = family[r.parents[0]]
        family[r.id] = fam
        for p in r.parents:
            if p in heads:
                heads.remove(p)
            by_id[p].children.append(r.id)
        heads.append(r.id)

        # ancestry bitmask, to keep depends_on off the revision's own line
        anc = 1 << i
        for p in r.parents:
            anc |= by_id[p].anc

        # branch labels
        p_label = 0.8 if r.kind == "base" else 0.15
        if branch_start and rng.random() < (p_label if style == "mixed" else p_label / 3):
            r.labels.append(new_label())
            if style == "mixed" and rng.random() < 0.15:
                r.labels.append(new_label())
        elif style == "mixed" and r.kind == "extend" and rng.random() < 0.01:
            r.labels.append(new_label())
        for lab in r.labels:
            label_owner[lab] = r.id

        # depends_on: on a revision of another line (not an ancestor)
        if i > 5 and rng.random() < (0.07 if style == "mixed" else 0.02):
            k = 2 if (style == "mixed" and rng.random() < 0.3) else 1
            cands = [x for x in rng.sample(revs, min(len(revs), 30)) if not (anc >> x.idx) & 1]
            for x in cands[:k]:
                if x.id in r.deps:
                    continue
                r.deps.append(x.id)
                if style == "mixed" and x.labels and rng.random() < 0.5:
                    r.dep_names.append(x.labels[0])
                else:
                    r.dep_names.append(x.id)
        for d in r.deps:
            anc |= by_id[d].anc
        r.anc = anc

        r.message = message_for(rng, style, r.kind)
        revs.append(r)
        by_id[r.id] = r
    return revs


# ---------------------------------------------------------------- rendering

def py_str(rng, s, style, allow_triple=True):
    if style == "plain":
        return repr(s)
    r = rng.random()
    if r < 0.45:
        return "'%s'" % s
    if r < 0.9 or not allow_triple:
        return '"%s"' % s
    return rng.choice(['"""%s"""', "'''%s'''"]) % s


def py_value(rng, items, style, kind):
    """items: list of str. kind: how to write a multi-value."""
    if not items:
        if style == "mixed" and kind == "down" and rng.random() < 0.3:
            return "None  # a base: the start of a branch"
        return "None"
    if style == "plain":
        return repr(items[0]) if len(items) == 1 else repr(tuple(items))
    if len(items) == 1:
        r = rng.random()
        if r < 0.85:
            return py_str(rng, items[0], style)
        if r < 0.95:
            return "(%s,)" % py_str(rng, items[0], style)
        return "[%s]" % py_str(rng, items[0], style)
    strs = [py_str(rng, x, style, allow_triple=False) for x in items]
    r = rng.random()
    if r < 0.15:
        return "[%s]" % ", ".join(strs)
    if r < 0.3:
        return "(\n%s\n)" % "".join("    %s,%s\n" % (s, rng.choice(["", "", "  # the %s line" % kind]))
                                     for s in strs).rstrip("\n")
    if r < 0.35:
        return "[\n%s\n]" % "".join("    %s,\n" % s for s in strs).rstrip("\n")
    return "(%s)" % ", ".join(strs)


def docstring(rng, r, style):
    """Return (doc_text_for_file, has_doc)."""
    revises = ", ".join(r.parents)
    msg = r.message.replace("\\", "\\\\")  # a literal backslash, written escaped
    header = "%s\n\nRevision ID: %s\nRevises: %s\nCreate Date: %s\n\n" % (
        msg, r.id, revises, r.created.strftime("%Y-%m-%d %H:%M:%S.%f"))
    if style == "plain":
        return '"""' + header + '"""'
    x = rng.random()
    if x < 0.06:
        return None
    if x < 0.12:
        # a longer explanation in several paragraphs
        body = "%s\n\n%s\nsecond line of the explanation.\n\n    indented third paragraph\n\nRevision ID: %s\nRevises: %s\n" % (
            msg, "Why: the %s table grew too large;" % rng.choice(WORDS), r.id, revises)
        return '"""' + body + '"""'
    if x < 0.15:
        # first paragraph on two lines
        return '"""%s\nand %s\n\nRevision ID: %s\n"""' % (msg, rng.choice(WORDS), r.id)
    if x < 0.18:
        # docstring starting on the line after the quotes, single quotes
        return "'''\n%s\n\nRevision ID: %s\nRevises: %s\n'''" % (msg, r.id, revises)
    if x < 0.20:
        # a one-line docstring in plain quotes
        return '"%s"' % msg.replace('"', '\\"')
    if x < 0.22:
        # a paragraph break made of a line holding only spaces: not a
        # "\n\n", so Alembic keeps both lines in the message
        return '"""%s\n   \nRevision ID: %s\n"""' % (msg, r.id)
    if x < 0.235:
        # spaces around the message: Alembic strips the docstring, then
        # keeps the first paragraph as is (trailing spaces included)
        return '"""   %s  \t\n\nRevision ID: %s\n"""' % (msg, r.id)
    if x < 0.245:
        return rng.choice(['""""""', '""" """', "''"])
    if x < 0.27:
        # string prefixes of older projects
        prefix = rng.choice(["u", "r", "U"])
        text = header.replace("\\\\", "\\") if prefix == "r" else header
        return prefix + '"""' + text + '"""'
    return '"""' + header + '"""'


def assignment(rng, name, value, style, annotated):
    if annotated:
        ann = "str" if name == "revision" else "Union[str, Sequence[str], None]"
        return "%s: %s = %s" % (name, ann, value)
    return "%s = %s" % (name, value)


def body_for(rng, r, style):
    if r.kind == "merge":
        return ("    pass\n", "    pass\n")
    table = "%s_%s" % (rng.choice(WORDS), r.id[:4])
    kind = rng.random()
    if kind < 0.5:
        cols = [("id", "sa.Integer()", False)]
        for _ in range(rng.randint(3, 9)):
            cname = rng.choice(WORDS) + rng.choice(["_id", "_name", "_at", "_count", "_code", ""])
            ctype = rng.choice(["sa.String(length=64)", "sa.Integer()", "sa.DateTime(timezone=True)",
                                "sa.Numeric(precision=18, scale=4)", "sa.Boolean()", "sa.Text()",
                                "postgresql.JSONB(astext_type=sa.Text())"])
            if cname not in [c[0] for c in cols]:
                cols.append((cname, ctype, rng.random() < 0.5))
        up = "    # ### commands auto generated by Alembic - please adjust! ###\n"
        up += "    op.create_table(\n        %r,\n" % table
        for c in cols:
            up += "        sa.Column(%r, %s, nullable=%s),\n" % (c[0], c[1], c[2])
        up += "        sa.PrimaryKeyConstraint('id'),\n    )\n"
        idx = cols[1][0]
        up += "    op.create_index(op.f('ix_%s_%s'), %r, [%r], unique=False)\n" % (table, idx, table, idx)
        up += "    # ### end Alembic commands ###\n"
        down = "    # ### commands auto generated by Alembic - please adjust! ###\n"
        down += "    op.drop_index(op.f('ix_%s_%s'), table_name=%r)\n" % (table, idx, table)
        down += "    op.drop_table(%r)\n" % table
        down += "    # ### end Alembic commands ###\n"
    else:
        up = "    # ### commands auto generated by Alembic - please adjust! ###\n"
        down = "    # ### commands auto generated by Alembic - please adjust! ###\n"
        for _ in range(rng.randint(2, 6)):
            col = rng.choice(WORDS) + "_" + rng.choice(["flag", "ref", "note", "ts", "amount"])
            up += "    op.add_column(%r, sa.Column(%r, sa.String(length=%d), nullable=True))\n" % (
                table, col, rng.choice([32, 64, 255]))
            down = down + "    op.drop_column(%r, %r)\n" % (table, col)
        if rng.random() < 0.5:
            up += "    op.create_foreign_key(None, %r, %r, [%r], ['id'], ondelete='CASCADE')\n" % (
                table, rng.choice(WORDS), rng.choice(WORDS) + "_id")
            down += "    op.drop_constraint(None, %r, type_='foreignkey')\n" % table
        up += "    # ### end Alembic commands ###\n"
        down += "    # ### end Alembic commands ###\n"
    return up, down


def render(rng, r, style):
    """Return (filename, bytes)."""
    doc = docstring(rng, r, style)
    annotated = style == "mixed" and rng.random() < 0.2
    lines = []
    if style == "mixed" and rng.random() < 0.05:
        # comments before the docstring do not stop it being the docstring
        lines.append(rng.choice(["# -*- coding: utf-8 -*-", "#!/usr/bin/env python\n# -*- coding: utf-8 -*-",
                                 "# Copyright (c) the migsync test suite"]))
    if doc is not None:
        lines.append(doc)
    lines.append("from alembic import op")
    lines.append("import sqlalchemy as sa")
    up, down = body_for(rng, r, style)
    if "postgresql." in up:
        lines.append("from sqlalchemy.dialects import postgresql")
    if annotated:
        lines.append("from typing import Sequence, Union")
    lines.append("")
    lines.append("")
    lines.append("# revision identifiers, used by Alembic.")
    rev_v = py_str(rng, r.id, style)
    down_v = py_value(rng, r.parents, style, "down")
    lab_v = py_value(rng, r.labels, style, "labels")
    dep_v = py_value(rng, r.dep_names, style, "deps")
    assigns = [("revision", rev_v), ("down_revision", down_v),
               ("branch_labels", lab_v), ("depends_on", dep_v)]
    if style == "mixed":
        # optional names may be left out when empty
        assigns = [a for a in assigns if not (a[0] in ("branch_labels", "depends_on")
                                               and a[1] == "None" and rng.random() < 0.2)]
        if rng.random() < 0.1:
            rng.shuffle(assigns)
    for name, value in assigns:
        line = assignment(rng, name, value, style, annotated)
        if style == "mixed" and rng.random() < 0.05:
            line += "  # noqa: E501"
        lines.append(line)
    lines.append("")
    lines.append("")
    lines.append("def upgrade() -> None:")
    lines.append(up.rstrip("\n"))
    lines.append("")
    lines.append("")
    lines.append("def downgrade() -> None:")
    lines.append(down.rstrip("\n"))
    text = "\n".join(lines) + "\n"

    slug = "".join(c if c.isalnum() and c.isascii() else "_" for c in r.message.lower())
    slug = "_".join(p for p in slug.split("_") if p)[:40] or "rev"
    if style == "mixed" and rng.random() < 0.2:
        fname = "%s_%s_%s.py" % (r.created.strftime("%Y_%m_%d_%H%M"), r.id, slug)
    else:
        fname = "%s_%s.py" % (r.id, slug)

    eol = "\n"
    bom = False
    if style == "mixed":
        if rng.random() < 0.1:
            eol = "\r\n"
        if rng.random() < 0.05:
            bom = True
    data = text.replace("\n", eol).encode("utf-8")
    if bom:
        data = b"\xef\xbb\xbf" + data
    elif style == "mixed" and r.idx % 2 == 0 and not r.message.isascii():
        # PEP 263: a coding line on line 1 makes Python decode the file from it
        for enc, line in (("latin-1", "# -*- coding: latin-1 -*-"),
                          ("cp1252", "# vim: set fileencoding=cp1252 :")):
            try:
                data = (line + "\n" + text).replace("\n", eol).encode(enc)
                break
            except UnicodeEncodeError:
                pass
    return fname, data


ENV_PY = '''"""Minimal Alembic environment (never run by migsync)."""
from logging.config import fileConfig

from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)

target_metadata = None


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"),
                      target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config(config.get_section(config.config_ini_section),
                                     prefix="sqlalchemy.", poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
'''

MAKO = '''"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

"""
from alembic import op
import sqlalchemy as sa
${imports if imports else ""}

# revision identifiers, used by Alembic.
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
'''

INI = '''# A generated Alembic project (tests/integration/gen_alembic_project.py).
[alembic]
script_location = {script_location}
prepend_sys_path = .
version_path_separator = os
sqlalchemy.url = postgresql://migsync@localhost/migsync_gen

[post_write_hooks]

[loggers]
keys = root,sqlalchemy,alembic

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARN
handlers = console
qualname =

[logger_sqlalchemy]
level = WARN
handlers =
qualname = sqlalchemy.engine

[logger_alembic]
level = INFO
handlers =
qualname = alembic

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
datefmt = %H:%M:%S
'''


def write_project(out, revs, rng, style, script_location):
    mig = os.path.join(out, "migrations")
    versions = os.path.join(mig, "versions")
    os.makedirs(versions, exist_ok=True)
    loc = "%(here)s/migrations" if script_location == "here" else "migrations"
    with open(os.path.join(out, "alembic.ini"), "w", encoding="utf-8", newline="\n") as f:
        f.write(INI.format(script_location=loc))
    with open(os.path.join(mig, "env.py"), "w", encoding="utf-8", newline="\n") as f:
        f.write(ENV_PY)
    with open(os.path.join(mig, "script.py.mako"), "w", encoding="utf-8", newline="\n") as f:
        f.write(MAKO)

    files = {}
    for r in revs:
        fname, data = render(rng, r, style)
        files[r.id] = fname
        with open(os.path.join(versions, fname), "wb") as f:
            f.write(data)

    if style == "mixed":
        # Files and directories Alembic 1.8 does not read.
        with open(os.path.join(versions, "__init__.py"), "w") as f:
            f.write("# this is not a revision\nraise RuntimeError('never imported')\n")
        # editor and merge-tool leftovers: copies of real revisions that
        # would make duplicate ids if they were read
        some = revs[len(revs) // 3]
        with open(os.path.join(versions, files[some.id]), "rb") as f:
            copy = f.read()
        for suffix in ("~", ".orig", "c"):
            with open(os.path.join(versions, files[some.id] + suffix), "wb") as f:
                f.write(copy)
        with open(os.path.join(versions, "notes.txt"), "w") as f:
            f.write("revision = 'notarevision'\ndown_revision = None\n")
        lock = os.path.join(versions, ".#%s" % files[revs[len(revs) // 2].id])
        try:
            os.symlink("dev@build-host.4242:1700000000", lock)
        except OSError:
            with open(lock, "w") as f:
                f.write("dev@build-host.4242:1700000000")
        pyc = os.path.join(versions, "__pycache__")
        os.makedirs(pyc, exist_ok=True)
        with open(os.path.join(pyc, "%s.cpython-311.pyc" % files[revs[0].id][:-3]), "wb") as f:
            f.write(b"\x00" * 16)
        with open(os.path.join(pyc, "stray.py"), "w") as f:
            f.write("revision = 'insidepycache'\ndown_revision = None\n")

    manifest = {
        "style": style,
        "versions": os.path.relpath(versions, out),
        "revisions": [
            {
                "revision": r.id,
                "file": files[r.id],
                "down_revision": r.parents,
                "depends_on": r.deps,
                "depends_on_written": r.dep_names,
                "branch_labels": r.labels,
                "message": r.message,
            }
            for r in revs
        ],
    }
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
        f.write("\n")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--revisions", type=int, default=200)
    ap.add_argument("--out", required=True)
    ap.add_argument("--style", choices=["mixed", "plain"], default="mixed")
    ap.add_argument("--script-location", choices=["relative", "here"], default="relative",
                    help="script_location = migrations (default) or %%(here)s/migrations")
    args = ap.parse_args(argv)
    if args.revisions < 1:
        ap.error("--revisions must be at least 1")
    rng = random.Random("%d/%s" % (args.seed, args.style))
    revs = build_graph(rng, args.revisions, args.style)
    os.makedirs(args.out, exist_ok=True)
    write_project(args.out, revs, rng, args.style, args.script_location)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
