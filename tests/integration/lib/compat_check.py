"""Compare migsync's heads/history/branches/show with Alembic 1.8's.

  compat_check.py plan PROJECT SEED > commands.tsv
      The Alembic command lines to run (for alembic_driver.py), chosen
      from PROJECT/manifest.json: heads, history, branches (plain and
      --verbose), show for a sample of identifiers, history -r for a few
      ranges.

  compat_check.py compare PROJECT ALEMBIC_OUT MIGSYNC MODE...
      Run the same command lines with migsync (in PROJECT) and compare
      them with Alembic's results in ALEMBIC_OUT. MODE is "scripts"
      (--scripts DIR, DIR as Alembic names it) or "ini" (no option:
      alembic.ini discovery). Also checks that migsync's history is in a
      valid topological order (each revision before its down_revisions
      and depends_on). Prints a unified diff per mismatch; exit 1 when
      anything differs.

What "identical" means. Alembic keeps branch labels and a branch point's
children in Python sets, so their order within one line changes with
PYTHONHASHSEED: those lists ("(a, b) (head)", "Branch names:",
"Branches into:") are sorted before comparing. Alembic's heads and history
order follows directory order, so lines (and --verbose blocks) are
compared as multisets; migsync's own order is checked separately.
"""

import collections
import difflib
import json
import os
import random
import re
import subprocess
import sys

VERBOSE_CMDS = ("heads", "history", "branches")
MAX_DIFF_LINES = 80

LABEL_GROUP = re.compile(r"\(((?:[a-z]+_\d+)(?:, [a-z]+_\d+)*)\)")
LIST_FIELD = re.compile(r"^(Branch names|Branches into): (.*)$")
HIST_LINE = re.compile(
    r"^(?:<base>|[0-9a-f]{12}(?:, [0-9a-f]{12})*)(?: \([^)]*\))? -> ([0-9a-f]{12})(?: |,|$)")


def load_manifest(project):
    with open(os.path.join(project, "manifest.json"), encoding="utf-8") as f:
        return json.load(f)


# ------------------------------------------------------------------ plan

def shortest_unique_prefix(rid, ids, minlen=4):
    for n in range(minlen, len(rid) + 1):
        p = rid[:n]
        if sum(1 for x in ids if x.startswith(p)) == 1:
            return p
    return rid


def plan(project, seed, extra=False):
    m = load_manifest(project)
    revs = m["revisions"]
    rng = random.Random(int(seed) * 7919)
    ids = [r["revision"] for r in revs]
    by_id = {r["revision"]: r for r in revs}
    children = collections.defaultdict(list)
    for r in revs:
        for p in r["down_revision"]:
            children[p].append(r["revision"])
    heads = [i for i in ids if not children[i]]
    bases = [r["revision"] for r in revs if not r["down_revision"]]
    merges = [r["revision"] for r in revs if len(r["down_revision"]) > 1]
    bpoints = [i for i in ids if len(children[i]) > 1]
    labelled = [r for r in revs if r["branch_labels"]]
    withdeps = [r["revision"] for r in revs if r["depends_on"]]

    def ancestors(rid):
        seen, todo = set(), [rid]
        while todo:
            x = todo.pop()
            for p in by_id[x]["down_revision"] + by_id[x]["depends_on"]:
                if p not in seen:
                    seen.add(p)
                    todo.append(p)
        return seen

    def some(lst, k):
        return rng.sample(lst, min(k, len(lst)))

    cmds = [
        ("heads", ["heads"]),
        ("heads_v", ["heads", "--verbose"]),
        ("heads_rd", ["heads", "--resolve-dependencies"]),
        ("history", ["history"]),
        ("history_v", ["history", "--verbose"]),
        ("branches", ["branches"]),
        ("branches_v", ["branches", "--verbose"]),
    ]
    show = []
    show += some(heads, 2) + some(bases, 2) + some(merges, 2) + some(bpoints, 2)
    show += some(withdeps, 2) + some(ids, 4)
    show += [r["revision"] for r in some(labelled, 2)]
    show += [shortest_unique_prefix(i, ids) for i in some(ids, 3)]
    show += [lab for r in some(labelled, 2) for lab in r["branch_labels"][:1]]
    show += ["%s@head" % r["branch_labels"][0] for r in some(labelled, 2)]
    show += ["heads", "base"]
    seen = set()
    for i, ident in enumerate(show):
        if ident in seen:
            continue
        seen.add(ident)
        cmds.append(("show_%02d" % i, ["show", ident]))

    ranges = []
    mid = rng.choice(ids[len(ids) // 3: 2 * len(ids) // 3])
    ranges.append("base:%s" % mid)
    ranges.append(":%s" % rng.choice(ids))
    ranges.append("%s:heads" % rng.choice(ids[: len(ids) // 2]))
    ranges.append("%s:" % rng.choice(ids))
    for _ in range(2):
        upper = rng.choice(ids[len(ids) // 2:])
        anc = sorted(ancestors(upper))
        if anc:
            ranges.append("%s:%s" % (rng.choice(anc), upper))
    if labelled:
        r = rng.choice(labelled)
        ranges.append("base:%s@head" % r["branch_labels"][0])
    for i, rr in enumerate(ranges):
        cmds.append(("range_%02d" % i, ["history", "-r", rr]))
    cmds.append(("range_v", ["history", "-r", ranges[-1], "--verbose"]))
    if extra:
        # Relative identifiers (COMPAT_EXTRA=1): where migsync was seen to
        # differ from Alembic 1.8.1 (show REV-N, show -N, label@-N,
        # label@+N, history -r X:+N past a head).
        h = rng.choice(heads)
        lab = rng.choice(labelled)["branch_labels"][0] if labelled else None
        rel = ["show\t%s-1" % h, "show\t--\t-1", "history\t-r\t%s:+1" % h,
               "history\t-r\t%s:+3" % rng.choice(ids), "history\t--rev-range=-2:"]
        if lab:
            rel += ["show\t%s@-1" % lab, "show\t%s@+1" % lab, "history\t-r\t%s@-2:" % lab]
        for i, line in enumerate(rel):
            cmds.append(("rel_%02d" % i, line.split("\t")))
    for name, args in cmds:
        print("\t".join([name] + args))
    return 0


# --------------------------------------------------------------- compare

def normalize_line(line):
    m = LIST_FIELD.match(line)
    if m:
        return "%s: %s" % (m.group(1), ", ".join(sorted(m.group(2).split(", "))))
    return LABEL_GROUP.sub(lambda g: "(%s)" % ", ".join(sorted(g.group(1).split(", "))), line)


def lines_of(text):
    return [normalize_line(x) for x in text.split("\n")]


def sort_children(lines):
    """Sort the "   -> child" entries of a branches block (a set in Alembic).

    An entry is its "->" line and any continuation lines of a multi-line
    message that follow it.
    """
    out, entries = [], []
    for line in lines + [None]:
        if line is not None and re.match(r"^ +-> ", line):
            entries.append([line])
        elif line is not None and entries and line != "" and not line.startswith("Rev: "):
            entries[-1].append(line)
        else:
            for e in sorted(entries):
                out.extend(e)
            entries = []
            if line is not None:
                out.append(line)
    return out


def blocks_of(text):
    """--verbose output: one block per "Rev: " line, normalized."""
    blocks, cur = [], None
    for line in text.split("\n"):
        if line.startswith("Rev: "):
            if cur is not None:
                blocks.append(cur)
            cur = []
        if cur is None:
            cur = []
        cur.append(normalize_line(line))
    if cur is not None:
        blocks.append(cur)
    # trailing blank lines belong to no revision
    return ["\n".join(sort_children(b)).rstrip("\n") for b in blocks if any(x for x in b)]


def multiset_diff(name, want, got, label_want="alembic", label_got="migsync"):
    """Return a diff text when the multisets differ, else None."""
    cw, cg = collections.Counter(want), collections.Counter(got)
    if cw == cg:
        return None
    missing = sorted((cw - cg).elements())
    extra = sorted((cg - cw).elements())
    a = "\n".join(missing).split("\n") if missing else []
    b = "\n".join(extra).split("\n") if extra else []
    diff = list(difflib.unified_diff(a, b, "%s (%s only)" % (name, label_want),
                                     "%s (%s only)" % (name, label_got), lineterm="", n=0))
    head = "%s: %d item(s) only in %s, %d only in %s" % (
        name, len(missing), label_want, len(extra), label_got)
    if len(diff) > MAX_DIFF_LINES:
        diff = diff[:MAX_DIFF_LINES] + ["... (%d more diff lines)" % (len(diff) - MAX_DIFF_LINES)]
    return head + "\n" + "\n".join(diff)


def read(path, binary=False):
    with open(path, "rb") as f:
        data = f.read()
    return data if binary else data.decode("utf-8", "replace")


def migsync_supports(migsync, cmd, option, cache={}):
    key = (cmd, option)
    if key not in cache:
        p = subprocess.run([migsync, cmd, "--help"], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True)
        cache[key] = p.returncode == 0 and re.search(
            r"(^|[\s,])%s([\s,=]|$)" % re.escape(option), p.stdout, re.M) is not None
    return cache[key]


def topo_check(order, manifest):
    """order: revision ids as migsync printed them. Returns problems."""
    revs = {r["revision"]: r for r in manifest["revisions"]}
    problems = []
    pos = {}
    for i, rid in enumerate(order):
        if rid in pos:
            problems.append("revision %s printed twice" % rid)
        pos[rid] = i
    missing = set(revs) - set(pos)
    if missing:
        problems.append("%d revision(s) missing from history, e.g. %s"
                        % (len(missing), sorted(missing)[:3]))
    extra = set(pos) - set(revs)
    if extra:
        problems.append("unknown revision(s) in history: %s" % sorted(extra)[:3])
    for rid, r in revs.items():
        if rid not in pos:
            continue
        for kind in ("down_revision", "depends_on"):
            for d in r[kind]:
                if d in pos and pos[d] < pos[rid]:
                    problems.append("%s (%s of %s) printed before %s"
                                    % (d, kind, rid, rid))
    return problems


def range_oracle(manifest, lower, upper):
    """The revisions `history -r lower:upper` selects, for two revision ids.

    Alembic 1.8's RevisionMap._collect_upgrade_revisions with
    implicit_base=False and inclusive=True: the ancestors of upper
    (down_revision and depends_on) and upper, minus the ancestors of
    lower, plus lower, kept only where they descend from lower through
    down_revision. Used where Alembic itself crashes.
    """
    revs = {r["revision"]: r for r in manifest["revisions"]}
    children = collections.defaultdict(list)
    for r in manifest["revisions"]:
        for p in r["down_revision"]:
            children[p].append(r["revision"])

    def walk(start, nxt):
        seen, todo = set(), [start]
        while todo:
            x = todo.pop()
            for y in nxt(x):
                if y not in seen:
                    seen.add(y)
                    todo.append(y)
        return seen

    def up(x):
        return revs[x]["down_revision"] + revs[x]["depends_on"]

    needs = ((walk(upper, up) | {upper}) - walk(lower, up)) | {lower}
    return needs & (walk(lower, lambda x: children[x]) | {lower})


def compare(project, alembic_out, migsync, modes):
    manifest = load_manifest(project)
    project = os.path.abspath(project)
    ini = read(os.path.join(project, "alembic.ini"))
    here = "%(here)s" in ini
    versions_dir = (os.path.join(project, manifest["versions"]) if here
                    else manifest["versions"])
    failures, checked, skipped, notes = [], 0, [], []
    env = dict(os.environ)
    env.pop("MIGSYNC_INVENTORY", None)
    env.setdefault("LC_ALL", "C.UTF-8")

    with open(os.path.join(alembic_out, "commands.tsv"), encoding="utf-8") as f:
        plan_cmds = [l.split("\t") for l in f.read().splitlines() if l.strip()]

    for mode in modes:
        for parts in plan_cmds:
            name, args = parts[0], parts[1:]
            opt = [a.split("=")[0] for a in args[1:] if a.startswith("-") and a != "--"
                   and not re.fullmatch(r"-\d+", a)]
            unsupported = [o for o in opt if not migsync_supports(migsync, args[0], o)]
            if unsupported:
                skipped.append("%s (migsync %s has no %s)" % (name, args[0], unsupported[0]))
                continue
            margs = [migsync] + args[:1] + (["--scripts", versions_dir] if mode == "scripts" else []) + args[1:]
            p = subprocess.run(margs, cwd=project, stdin=subprocess.DEVNULL,
                               capture_output=True, env=env)
            a_rc = int(read(os.path.join(alembic_out, name + ".rc")).strip())
            a_out = read(os.path.join(alembic_out, name + ".out"))
            a_err = read(os.path.join(alembic_out, name + ".err")).strip()
            m_out = p.stdout.decode("utf-8", "replace")
            m_err = p.stderr.decode("utf-8", "replace").strip()
            where = "[%s] %s (migsync %s)" % (mode, " ".join(args), " ".join(margs[1:]))
            checked += 1
            if a_rc != 0 and "Traceback" in a_err:
                # Alembic's own internal error (not a "FAILED:" message):
                # there is no Alembic answer to match. For an id:id range,
                # check migsync against the rule Alembic means to apply.
                crash = a_err.strip().splitlines()[-1]
                rr = args[args.index("-r") + 1] if "-r" in args else ""
                ids = rr.split(":")
                if (args[0] == "history" and len(ids) == 2
                        and all(re.fullmatch(r"[0-9a-f]{12}", x) for x in ids)):
                    want = range_oracle(manifest, ids[0], ids[1])
                    got = [mm.group(1) for mm in map(HIST_LINE.match, m_out.split("\n")) if mm]
                    probs = topo_check(got, {"revisions": [r for r in manifest["revisions"]
                                                           if r["revision"] in want]})
                    if p.returncode != 0 or set(got) != want or probs:
                        failures.append("%s: alembic crashes (%s); migsync exit %d, %d revisions, expected %d by Alembic's rule%s"
                                        % (where, crash, p.returncode, len(got), len(want),
                                           "".join("\n  " + x for x in probs[:5])))
                    else:
                        notes.append("%s: alembic crashes (%s); migsync prints the %d revisions Alembic's rule selects"
                                     % (where, crash, len(want)))
                else:
                    notes.append("%s: alembic crashes (%s); migsync exit %d" % (where, crash, p.returncode))
                continue
            if a_rc != 0 or p.returncode != 0:
                if (a_rc != 0) != (p.returncode != 0):
                    failures.append("%s: alembic exit %d, migsync exit %d\n  alembic stderr: %s\n  migsync stderr: %s"
                                    % (where, a_rc, p.returncode, a_err[-300:] or "-", m_err[-300:] or "-"))
                continue
            if "--verbose" in args or args[0] == "show":
                d = multiset_diff(where, blocks_of(a_out), blocks_of(m_out))
            else:
                d = multiset_diff(where, lines_of(a_out), lines_of(m_out))
            if d:
                failures.append(d)
            if args == ["history"]:
                order = []
                for line in m_out.split("\n"):
                    mm = HIST_LINE.match(line)
                    if mm:
                        order.append(mm.group(1))
                probs = topo_check(order, manifest)
                if probs:
                    failures.append("%s: history order is not topological:\n  %s"
                                    % (where, "\n  ".join(probs[:10])))

    for s in sorted(set(skipped)):
        print("  skipped: %s" % s)
    for n in notes:
        print("  note: " + n)
    for f in failures:
        print("MISMATCH " + f)
        print()
    print("  %s: %d comparisons, %d mismatches" % (os.path.basename(project), checked, len(failures)))
    return 1 if failures else 0


def main(argv):
    if len(argv) >= 3 and argv[0] == "plan":
        return plan(argv[1], argv[2], extra=os.environ.get("COMPAT_EXTRA") == "1")
    if len(argv) >= 5 and argv[0] == "compare":
        return compare(argv[1], argv[2], argv[3], argv[4:])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
