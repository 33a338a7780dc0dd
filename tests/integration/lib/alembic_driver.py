"""Run several Alembic command lines in one interpreter.

Usage (with the Python that has Alembic 1.8, e.g. /usr/bin/python3):
  python3 alembic_driver.py OUTDIR < commands

Each input line is "NAME<TAB>ARG<TAB>ARG...": the arguments of one
`alembic` command line (e.g. "heads_v\theads\t--verbose"). The command runs
through alembic.config.CommandLine as `python3 -m alembic ARGS` would, in
the current directory; its stdout goes to OUTDIR/NAME.out, its stderr to
OUTDIR/NAME.err and its exit status to OUTDIR/NAME.rc.

Running them all in one process saves the interpreter and SQLAlchemy start
(~0.3 s each); every command still builds its own ScriptDirectory and
reads every revision file again, as the CLI does.
"""

import contextlib
import io
import os
import sys
import traceback

from alembic.config import CommandLine, Config


def run(outdir, name, args):
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="\n")
    err = io.StringIO()
    rc = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            # CommandLine.main, but with our stdout: Config's default
            # stdout is bound when alembic.config is imported.
            cli = CommandLine(prog="alembic")
            options = cli.parser.parse_args(args)
            if not hasattr(options, "cmd"):
                cli.parser.error("too few arguments")
            cfg = Config(file_=options.config, ini_section=options.name,
                         cmd_opts=options, stdout=out)
            cli.run_cmd(cfg, options)
        except SystemExit as e:
            if isinstance(e.code, int):
                rc = e.code & 0xFF
            elif e.code is None:
                rc = 0
            else:
                sys.stderr.write(str(e.code) + "\n")
                rc = 1
        except Exception:
            traceback.print_exc()
            rc = 1
    out.flush()
    with open(os.path.join(outdir, name + ".out"), "wb") as f:
        f.write(out.buffer.getvalue())
    with open(os.path.join(outdir, name + ".err"), "w", encoding="utf-8") as f:
        f.write(err.getvalue())
    with open(os.path.join(outdir, name + ".rc"), "w") as f:
        f.write("%d\n" % rc)


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    for line in sys.stdin.read().splitlines():
        if not line.strip():
            continue
        parts = line.split("\t")
        run(outdir, parts[0], parts[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
