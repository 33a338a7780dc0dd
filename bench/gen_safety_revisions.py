#!/usr/bin/env python3
"""N native SQL revisions for bench_safety.sh, a straight line, seed 42.

Each revision creates a table (and an index on it: silent, the table is
new) and, one revision in three, does one thing to an earlier table that
one of the safety rules is about (or its safe form, which must stay
silent). Writes DIR/versions/<id>_rev.sql (migsync's native format) and
DIR/up/<id>.sql (the up section alone, for squawk), and prints nothing.
"""
import os
import random
import sys

RISKY = [
    "CREATE INDEX {t}_b ON {t} (b);",
    "CREATE INDEX CONCURRENTLY {t}_c ON {t} (c);",
    "ALTER TABLE {t} ADD COLUMN n{i} int NOT NULL;",
    "ALTER TABLE {t} ADD COLUMN n{i} int NOT NULL DEFAULT 0;",
    "ALTER TABLE {t} ADD COLUMN u{i} uuid DEFAULT gen_random_uuid();",
    "ALTER TABLE {t} ALTER COLUMN b TYPE varchar(200);",
    "ALTER TABLE {t} ALTER COLUMN b SET NOT NULL;",
    "ALTER TABLE {t} ADD CONSTRAINT {t}_fk FOREIGN KEY (a) REFERENCES {p} (id);",
    "ALTER TABLE {t} ADD CONSTRAINT {t}_fk FOREIGN KEY (a) REFERENCES {p} (id) NOT VALID;",
    "ALTER TABLE {t} ADD CONSTRAINT {t}_uq UNIQUE (b);",
    "ALTER TABLE {t} DROP COLUMN c;",
    "DROP TABLE {t};",
    "ALTER TABLE {t} RENAME COLUMN c TO c2;",
    "ALTER TABLE {t} RENAME TO {t}_old;",
]


def main():
    out, n = sys.argv[1], int(sys.argv[2])
    rnd = random.Random(42)
    os.makedirs(os.path.join(out, "versions"), exist_ok=True)
    os.makedirs(os.path.join(out, "up"), exist_ok=True)
    ids = ["%012x" % rnd.getrandbits(48) for _ in range(n)]
    tables = []
    for i, rev in enumerate(ids):
        t = "t_%04d" % i
        up = ["CREATE TABLE %s (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
              " a bigint, b text, c timestamptz);" % t,
              "CREATE INDEX %s_a ON %s (a);" % (t, t)]
        concurrent = False
        if i % 3 == 2 and tables:
            old = rnd.choice(tables)
            stmt = rnd.choice(RISKY).format(t=old, p=tables[0], i=i)
            if rnd.random() < 0.3:
                up.insert(0, "SET lock_timeout = '5s';")
            up.append(stmt)
            concurrent = "CONCURRENTLY" in stmt and rnd.random() < 0.5
        tables.append(t)
        head = ["-- migsync:revision %s" % rev,
                "-- migsync:down_revision %s" % (ids[i - 1] if i else "none"),
                "-- migsync:message revision %d" % i]
        if concurrent:
            head.append("-- migsync:transaction false")
        text = "\n".join(head + ["", "-- migsync:up"] + up +
                         ["", "-- migsync:down", "DROP TABLE %s;" % t, ""])
        with open(os.path.join(out, "versions", "%s_rev.sql" % rev), "w") as f:
            f.write(text)
        with open(os.path.join(out, "up", "%s.sql" % rev), "w") as f:
            f.write("\n".join(up) + "\n")


main()
