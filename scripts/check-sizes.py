#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Lists functions over MAX_FN lines and source files over MAX_FILE lines in
lib/, gst-plugin/, tools/, tests/, pipelines/ and fuzz/ (the size rules of
docs/design.md §2).

A function is counted from a line that opens a body at nesting depth 0 (as
written at namespace scope, this project's style) to its closing brace.
The element's property table (install_properties) may be longer. Exit status 1 when
something is over."""
import pathlib
import re
import sys

MAX_FN, MAX_FILE = 80, 600
ALLOWED = {"install_properties"}  # the property table
root = pathlib.Path(__file__).resolve().parent.parent
over = []
for part in ("lib", "gst-plugin", "tools", "tests", "pipelines", "fuzz"):
    for path in sorted((root / part).rglob("*")):
        if path.suffix not in (".cpp", ".h", ".cu"):
            continue
        lines = path.read_text(errors="replace").splitlines()
        rel = path.relative_to(root)
        if len(lines) > MAX_FILE:
            over.append(f"{rel}: {len(lines)} lines (file)")
        # Brace stack: "ns" (namespace, extern "C"), "type" (class, struct,
        # enum, union), "blk" (a function body or anything inside one).
        stack, start, name = [], None, ""
        for i, line in enumerate(lines):
            code = re.sub(r'"(\\.|[^"\\])*"|//.*', "", line)
            for ch in code:
                if ch == "{":
                    if re.match(r"\s*(namespace|extern)\b", code):
                        stack.append("ns")
                    elif re.match(r"\s*((typedef\s+)?(struct|class|enum|union)\b|[\w:<>]+\s*=\s*\{?$)", code) \
                            or re.search(r"=\s*\{", code) and all(t != "blk" for t in stack):
                        stack.append("type")
                    else:
                        if all(t != "blk" for t in stack) and start is None:
                            m = re.search(r"([A-Za-z_][\w:~]*)\s*\(", code)
                            j = i
                            while not m and j > 0 and i - j < 4:
                                j -= 1
                                m = re.search(r"([A-Za-z_][\w:~]*)\s*\(", lines[j])
                            start, name = i, (m.group(1) if m else "?")
                        stack.append("blk")
                elif ch == "}" and stack:
                    stack.pop()
                    if start is not None and all(t != "blk" for t in stack):
                        n = i - start + 1
                        if n > MAX_FN and name.split("::")[-1] not in ALLOWED:
                            over.append(f"{rel}:{start + 1}: {name}: {n} lines")
                        start = None
for o in over:
    print(o)
sys.exit(1 if over else 0)
