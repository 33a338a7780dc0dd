"""migsync's Alembic driver: the project's own Alembic, given exact revisions.

migsync embeds this file and runs it with the project's interpreter as

    PYTHON -c BOOTSTRAP N -c INI [-n SECTION] -x env=NAME [-x tenant=SCHEMA] COMMAND REV...

where BOOTSTRAP reads this program (N bytes) from stdin. stdin then holds
the revision files migsync planned from ("COUNT" and COUNT lines of
"SHA256 PATH", PATH resolved), and afterwards one "next" line per call.

1. The files Alembic sees (ScriptDirectory.from_config: the ini's
   script_location and version_locations) must be the planned ones, by
   resolved path and SHA-256; otherwise each difference is reported and
   nothing runs (exit 3).
2. Each REV is one `alembic COMMAND REV` (what alembic.command.upgrade and
   downgrade do, on one ScriptDirectory so the revisions are loaded once).
   After each call the driver waits for "next" so that migsync can check
   the version rows before the next one.
   With -x tenant=SCHEMA (a tenant schema's target), env.py's
   context.configure gets version_table_schema=SCHEMA unless it passes
   its own.
3. A failure prints the traceback, then the exception's own first line
   (the DBAPI error behind SQLAlchemy's wrapper); exit 1.

The end of stdin means migsync is gone or cancels: the driver ends itself
at once with SIGTERM, so that no migration runs without migsync's lock.
Lines starting with "migsync-driver: " are for migsync, which hides them.
"""
import argparse
import hashlib
import os
import queue
import signal
import sys
import threading

MARK = "migsync-driver: "


def say(*words):
    sys.stdout.flush()
    sys.stderr.write(MARK + " ".join(words) + "\n")
    sys.stderr.flush()


def watch_stdin(replies, state):
    # fd 0 itself: a daemon thread blocked in sys.stdin's lock aborts Python
    # at exit. migsync writes nothing between the planned files and "next".
    pending = b""
    while True:
        data = os.read(0, 4096)
        if not data:
            break
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            replies.put(line.strip().decode("ascii", "replace"))
    if not state["finished"]:
        os.kill(os.getpid(), signal.SIGTERM)


def read_planned(stream):
    planned = {}
    count = int(stream.readline())
    for _ in range(count):
        line = stream.readline().decode("utf-8", "surrogateescape").rstrip("\n")
        sha, path = line.split(" ", 1)
        planned[path] = sha
    return planned


def alembic_files(script):
    seen = {}
    for sc in script.walk_revisions():
        path = os.path.realpath(sc.path)
        with open(path, "rb") as f:
            seen[path] = hashlib.sha256(f.read()).hexdigest()
    return seen


def compare(planned, seen):
    differs = False
    for path in sorted(set(planned) | set(seen)):
        if path not in seen:
            say("only-planned", path)
        elif path not in planned:
            say("only-alembic", path)
        elif planned[path] != seen[path]:
            say("changed", planned[path], seen[path], path)
        else:
            continue
        differs = True
    return not differs


def run_call(config, script, command, rev, tenant):
    # alembic.command.upgrade/downgrade, on the ScriptDirectory already loaded
    from alembic.runtime.environment import EnvironmentContext

    def upgrade(current, context):
        return script._upgrade_revs(rev, current)

    def downgrade(current, context):
        return script._downgrade_revs(rev, current)

    ctx = EnvironmentContext(config, script,
                             fn=upgrade if command == "upgrade" else downgrade,
                             as_sql=False, starting_rev=None, destination_rev=rev,
                             tag=None)
    if tenant is not None:
        # A tenant schema's version table is in that schema, as in Alembic's
        # recipe; an env.py that names another one keeps it (and migsync,
        # reading the tenant's, then reports the difference). Set on the
        # instance: alembic.context proxies to it.
        configure = ctx.configure

        def tenant_configure(*args, **kw):
            kw.setdefault("version_table_schema", tenant)
            return configure(*args, **kw)

        ctx.configure = tenant_configure
    with ctx:
        script.run_env()


def x_value(xs, key):
    for x in xs:
        if x.startswith(key + "="):
            return x[len(key) + 1:]
    return None


def error_line(exc):
    orig = getattr(exc, "orig", None)   # SQLAlchemy's DBAPIError wraps the driver's
    if isinstance(orig, BaseException):
        exc = orig
    kind = type(exc)
    name = kind.__qualname__
    if kind.__module__ not in ("builtins", "__main__"):
        name = kind.__module__ + "." + name
    lines = str(exc).strip().splitlines()
    return name + (": " + lines[0].strip() if lines else "")


def main(argv):
    parser = argparse.ArgumentParser(prog="migsync-driver")
    parser.add_argument("-c", dest="config", required=True)
    parser.add_argument("-n", dest="name", default="alembic")
    parser.add_argument("-x", action="append", default=[])
    parser.add_argument("command", choices=("upgrade", "downgrade"))
    parser.add_argument("revisions", nargs="+")
    args = parser.parse_args(argv)

    stream = sys.stdin.buffer
    planned = read_planned(stream)
    replies = queue.Queue()
    state = {"finished": False}
    threading.Thread(target=watch_stdin, args=(replies, state), daemon=True).start()
    try:
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        config = Config(args.config, ini_section=args.name,
                        cmd_opts=argparse.Namespace(x=args.x))
        script = ScriptDirectory.from_config(config)
        if not compare(planned, alembic_files(script)):
            return 3
        for k, rev in enumerate(args.revisions):
            say("call", str(k), rev)
            run_call(config, script, args.command, rev, x_value(args.x, "tenant"))
            say("done", str(k), rev)
            if replies.get() != "next":
                return 4
    except Exception as exc:  # everything Alembic or env.py raises
        import traceback

        traceback.print_exc()
        say("error", error_line(exc))
        return 1
    finally:
        state["finished"] = True
    return 0


status = main(sys.argv[2:])
sys.stdout.flush()
sys.stderr.flush()
os._exit(status)   # no interpreter shutdown with the stdin thread still reading
