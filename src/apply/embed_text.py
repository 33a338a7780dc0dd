"""Write a C file defining one NUL-terminated char array: a text file's bytes.

Usage: embed_text.py INPUT OUTPUT NAME
(meson runs it to embed alembic_driver.py in migsync as exec_alembic_driver;
an array, not a string literal, because ISO C limits literals to 4095 bytes.)
"""
import sys


def main(src, dst, name):
    with open(src, "rb") as f:
        data = f.read() + b"\0"
    out = ["/* generated from %s by embed_text.py: do not edit */" % src.rsplit("/", 1)[-1],
           "const char %s[] = {" % name]
    for i in range(0, len(data), 16):
        out.append("\t" + " ".join("%d," % b for b in data[i:i + 16]))
    out.append("};")
    with open(dst, "w") as f:
        f.write("\n".join(out) + "\n")


main(*sys.argv[1:])
