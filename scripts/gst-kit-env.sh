# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# Sourced by bash: puts the GStreamer kit of scripts/make-gst-kit.sh
# (.gpukit/gst) to use, for a machine without GStreamer (pipelines/gpu-check.sh):
# its tools first on PATH, its libraries first on LD_LIBRARY_PATH, its .pc
# files alone for pkg-config, its plugins alone for GStreamer.
#
#   . scripts/gst-kit-env.sh [REGISTRY]     (default .gpukit/gst/registry.bin)
gst_kit=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.gpukit/gst
gst_lib=$gst_kit/usr/lib/x86_64-linux-gnu

# The .pc files say prefix=/usr: point them at the kit, wherever it now lies.
sed -i "s|^prefix=.*|prefix=$gst_kit/usr|" "$gst_lib"/pkgconfig/*.pc

# Of the kit's common system libraries (syslib/), only those the machine
# lacks: its own, newer ones serve everything else it runs too.
rm -rf "$gst_kit/syslib-missing"
mkdir -p "$gst_kit/syslib-missing"
gst_known=$(ldconfig -p 2>/dev/null | awk '/x86-64/ {print $1}')
for gst_f in "$gst_kit"/syslib/*; do
  grep -qxF "${gst_f##*/}" <<<"$gst_known" || ln -s "$gst_f" "$gst_kit/syslib-missing/"
done
unset gst_known gst_f

export PATH="$gst_kit/usr/bin:$PATH"
export LD_LIBRARY_PATH="$gst_lib:$gst_kit/syslib-missing${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PKG_CONFIG="$gst_kit/usr/bin/pkgconf" PKG_CONFIG_LIBDIR="$gst_lib/pkgconfig"
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
export GST_PLUGIN_SYSTEM_PATH_1_0="$gst_lib/gstreamer-1.0"
export GST_PLUGIN_SCANNER="$gst_lib/gstreamer1.0/gstreamer-1.0/gst-plugin-scanner"
export GST_PLUGIN_SCANNER_1_0="$GST_PLUGIN_SCANNER"
export GST_REGISTRY_1_0="${1:-$gst_kit/registry.bin}"
