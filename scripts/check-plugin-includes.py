#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks that the element compiles without LibTorch's headers
(docs/design.md §2): no compile command of the plugin (objects under
gst-plugin/ in the build folder) names a LibTorch include directory.

Usage: check-plugin-includes.py BUILD_DIR. Exit status 1 naming the files
and directories at fault, 2 when compile_commands.json is missing."""
import json
import pathlib
import shlex
import sys

build = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "build")
db = build / "compile_commands.json"
if not db.is_file():
    print(f"check-plugin-includes: {db} is missing (run meson setup first)", file=sys.stderr)
    sys.exit(2)


def include_dirs(args):
    out, take = [], False
    for a in args:
        if take:
            out.append(a)
            take = False
        elif a in ("-I", "-isystem", "-iquote", "-idirafter"):
            take = True
        else:
            for flag in ("-I", "-isystem", "-iquote", "-idirafter"):
                if a.startswith(flag) and len(a) > len(flag):
                    out.append(a[len(flag):])
                    break
    return out


plugin, bad = 0, []
for entry in json.loads(db.read_text()):
    if not entry.get("output", "").startswith("gst-plugin/"):
        continue
    plugin += 1
    args = entry["arguments"] if "arguments" in entry else shlex.split(entry["command"])
    torch = [d for d in include_dirs(args) if "torch" in d.lower()]
    if torch:
        bad.append(f"{entry['file']}: {', '.join(torch)}")
if plugin == 0:
    print(f"check-plugin-includes: no plugin object in {db}", file=sys.stderr)
    sys.exit(1)
if bad:
    print("LibTorch include directories in the plugin's compile commands:", *bad, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print(f"check-plugin-includes: {plugin} plugin files, no LibTorch include directory")
