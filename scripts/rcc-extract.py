#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Extracts the files of a compiled Qt resource (.rcc, format versions 1-3)
into a folder: GCompris ships its photos inside them.

    python3 scripts/rcc-extract.py FILE.rcc OUTDIR [--only .jpg,.png]

The format (Qt's rcc): "qres", version, then the offsets of the tree, the
data and the names; tree nodes of 14 bytes (22 from version 2: a modified
time follows); names are a u16 length, a u32 hash and UTF-16BE; a file's
data is a u32 length and the bytes, zlib-compressed (a u32 size first) when
its flag 1 is set. Zstandard (flag 4) is refused by name.
"""
import os
import struct
import sys
import zlib


def extract(path, out, only=None):
    with open(path, "rb") as f:
        buf = f.read()
    if buf[:4] != b"qres":
        raise ValueError("%s is not a Qt resource file (no 'qres' magic)" % path)
    version, tree, data, names = struct.unpack(">IIII", buf[4:20])
    if version not in (1, 2, 3):
        raise ValueError("%s: rcc format version %d is not one of 1-3" % (path, version))
    node = 14 if version == 1 else 22
    written = []

    def name_at(off):
        (n,) = struct.unpack(">H", buf[names + off:names + off + 2])
        return buf[names + off + 6:names + off + 6 + 2 * n].decode("utf-16-be")

    def walk(index, prefix):
        base = tree + index * node
        name_off, flags = struct.unpack(">IH", buf[base:base + 6])
        name = name_at(name_off) if index else ""
        rel = os.path.join(prefix, name) if name else prefix
        if flags & 2:  # a directory
            count, first = struct.unpack(">II", buf[base + 6:base + 14])
            for child in range(first, first + count):
                walk(child, rel)
            return
        (off,) = struct.unpack(">I", buf[base + 10:base + 14])
        (n,) = struct.unpack(">I", buf[data + off:data + off + 4])
        blob = buf[data + off + 4:data + off + 4 + n]
        if only and not rel.lower().endswith(only):
            return
        if flags & 4:
            raise ValueError("%s: %s is zstd-compressed, which this reader does not decode" % (path, rel))
        if flags & 1:
            blob = zlib.decompress(blob[4:])
        dest = os.path.join(out, rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "wb") as g:
            g.write(blob)
        written.append(rel)

    walk(0, "")
    return written


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    only = None
    if "--only" in sys.argv:
        only = tuple(sys.argv[sys.argv.index("--only") + 1].split(","))
    try:
        files = extract(sys.argv[1], sys.argv[2], only)
    except (OSError, ValueError, struct.error, zlib.error) as e:
        sys.exit("rcc-extract: %s" % e)
    print("rcc-extract: %d files from %s" % (len(files), sys.argv[1]))
