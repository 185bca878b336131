#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Names the frames of pipelines/segv-trace.c's report that lie in this
project's binaries (libi2sbseg, the element, the tool, the tests): each
"file(+0xOFFSET)" or "file(symbol+0xOFFSET)" becomes the nearest symbol of
`nm -C`, local ones included. Other lines pass through.

    python3 pipelines/segv-symbols.py < LOG
"""
import bisect
import re
import subprocess
import sys

OURS = ("i2sbseg", "/tests/test_")
FRAME = re.compile(r"(?:(?P<label>[^:]+): )?(?P<path>/\S+?)\((?P<base>[^+)]*)\+0x(?P<off>[0-9a-f]+)\)")
_tables = {}


def table(path):
    if path not in _tables:
        def nm(*args):
            return subprocess.run(["nm", *args, "-n", "--defined-only", path],
                                  capture_output=True, text=True).stdout.splitlines()
        local = []
        for line in nm("-C"):
            parts = line.split(" ", 2)
            if len(parts) == 3 and parts[1] in "tTwWiI":
                local.append((int(parts[0], 16), parts[2]))
        dynamic = {p[2]: int(p[0], 16) for p in (l.split(" ", 2) for l in nm("-D")) if len(p) == 3}
        _tables[path] = (local, dynamic)
    return _tables[path]


def name(line):
    m = FRAME.search(line)
    if not m or not any(o in m.group("path") for o in OURS):
        return line
    path, base, off = m.group("path"), m.group("base"), int(m.group("off"), 16)
    local, dynamic = table(path)
    if base:
        if base not in dynamic:
            return line
        off += dynamic[base]
    i = bisect.bisect_right([a for a, _ in local], off) - 1
    where = f"{local[i][1]} +{off - local[i][0]:#x}" if i >= 0 else f"+{off:#x}"
    return f"{m.group('label') + ': ' if m.group('label') else ''}{path.rsplit('/', 1)[-1]}: {where}"


for line in sys.stdin:
    print(name(line.rstrip("\n")))
