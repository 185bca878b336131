#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's test command: installs what is missing, builds everything
# (CUDA kernels too when nvcc is at /usr/local/cuda) and runs the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
# The teacher labeller's npm packages (pinned; into .teachers/, once).
/usr/bin/python3 scripts/label-with-teachers.py --install-only
[ -d /usr/local/cuda/bin ] && export PATH="$PATH:/usr/local/cuda/bin"

builddir=${BUILDDIR:-build}
if [ -f "$builddir/build.ninja" ]; then
  meson setup --reconfigure "$builddir" -Dtests=enabled
else
  meson setup "$builddir" -Dtests=enabled
fi
meson compile -C "$builddir"
meson test -C "$builddir" --print-errorlogs "$@"
