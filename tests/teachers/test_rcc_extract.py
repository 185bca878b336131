# SPDX-License-Identifier: MIT
"""scripts/rcc-extract.py on Qt resource files written here byte by byte
from the format's description (version 1 and 3 headers, a nested folder, a
plain and a zlib-compressed file), and its refusals."""
import os
import struct
import subprocess
import sys
import tempfile
import unittest
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "scripts", "rcc-extract.py")


def name_entry(name):
    enc = name.encode("utf-16-be")
    return struct.pack(">HI", len(name), 0) + enc


def make_rcc(version, files):
    """files: {"dir/name": (bytes, compressed)} under one folder "dir"."""
    names, name_off = b"", {}
    for n in ["dir"] + sorted(f.split("/")[1] for f in files):
        name_off[n] = len(names)
        names += name_entry(n)
    data, data_off = b"", {}
    for f in sorted(files):
        raw, packed = files[f]
        blob = struct.pack(">I", len(raw)) + zlib.compress(raw) if packed else raw
        data_off[f] = len(data)
        data += struct.pack(">I", len(blob)) + blob
    node = 14 if version == 1 else 22
    tail = b"" if version == 1 else b"\0" * 8  # the modified time of version 2+

    def dir_node(name_o, count, first):
        return struct.pack(">IHII", name_o, 2, count, first) + tail

    def file_node(name_o, flags, off):
        return struct.pack(">IHHHI", name_o, flags, 0, 0, off) + tail

    leaves = sorted(files)
    tree = dir_node(0, 1, 1) + dir_node(name_off["dir"], len(leaves), 2)
    for f in leaves:
        tree += file_node(name_off[f.split("/")[1]], 1 if files[f][1] else 0, data_off[f])
    assert len(tree) == node * (2 + len(leaves))
    header_len = 20 if version == 1 else 24
    data_at = header_len
    names_at = data_at + len(data)
    tree_at = names_at + len(names)
    header = b"qres" + struct.pack(">IIII", version, tree_at, data_at, names_at)
    if version >= 3:
        header += struct.pack(">I", 0)
    return header + data + names + tree


class RccExtract(unittest.TestCase):
    def run_tool(self, *args):
        return subprocess.run([sys.executable, TOOL] + list(args), capture_output=True, text=True, timeout=60)

    def test_extracts_plain_and_compressed_files(self):
        files = {"dir/a.webp": (b"RIFF plain bytes", False), "dir/b.txt": (b"x" * 5000, True)}
        for version in (1, 3):
            with tempfile.TemporaryDirectory() as tmp:
                rcc = os.path.join(tmp, "t.rcc")
                with open(rcc, "wb") as f:
                    f.write(make_rcc(version, files))
                r = self.run_tool(rcc, os.path.join(tmp, "out"))
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("2 files", r.stdout)
                for name, (raw, _) in files.items():
                    with open(os.path.join(tmp, "out", name), "rb") as f:
                        self.assertEqual(f.read(), raw, (version, name))
                r = self.run_tool(rcc, os.path.join(tmp, "only"), "--only", ".webp")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(os.listdir(os.path.join(tmp, "only", "dir")), ["a.webp"])

    def test_refuses_what_it_cannot_read(self):
        with tempfile.TemporaryDirectory() as tmp:
            bad = os.path.join(tmp, "bad.rcc")
            with open(bad, "wb") as f:
                f.write(b"PK\x03\x04 not a resource")
            r = self.run_tool(bad, os.path.join(tmp, "out"))
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("bad.rcc is not a Qt resource file", r.stderr)
            v9 = os.path.join(tmp, "v9.rcc")
            with open(v9, "wb") as f:
                f.write(b"qres" + struct.pack(">IIII", 9, 0, 0, 0))
            r = self.run_tool(v9, os.path.join(tmp, "out"))
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("version 9", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
