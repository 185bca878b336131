#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Packs Debian 12's GStreamer 1.22 into .gpukit/gst/ (~27 MB) so that
# pipelines/gpu-check.sh can build the i2sbseg element and run it with
# gst-launch-1.0 on a GPU machine without GStreamer or a package registry
# (Ubuntu 24.04 with PyTorch): core, base and the tools, GStreamer's CUDA
# library (libgstcuda-1.0, headers, .pc) and, of plugins-bad, only nvcodec
# (cudaupload, cudadownload) and debugutilsbad (fpsdisplaysink).
# Called by scripts/make-gpu-kit.sh; needs apt-get (Debian 12), no root.
#
# Layout, all from .debs unpacked with dpkg-deb -x; scripts/gst-kit-env.sh
# (sourced by gpu-check.sh) puts it to use:
#   usr/        GStreamer, GLib, orc, gudev, pkgconf: the kit's own, first
#               on LD_LIBRARY_PATH
#   syslib/     common system libraries (zlib, libdw, X11, wayland, GL
#               loaders...) by soname, used only where the machine lacks
#               them, so that its newer copies serve its own programs
#   usr/lib/x86_64-linux-gnu/pkgconfig/  every .pc file; gst-kit-env.sh points
#               their prefix= at the kit (its path differs per machine)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=SCRIPTDIR/deb-fetch.sh
. "$repo/scripts/deb-fetch.sh"
gst="$repo/.gpukit/gst"
lib=usr/lib/x86_64-linux-gnu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# unpack SET PACKAGE...: downloads the Debian packages and unpacks them into
# $tmp/SET (Debian 12 still ships some libraries in /lib: merged into /usr/lib).
unpack() {
  local set=$1; shift
  deb_unpack "$tmp/$set" "$@"
  if [ -d "$tmp/$set/lib" ]; then cp -a "$tmp/$set/lib/." "$tmp/$set/usr/lib/"; rm -rf "${tmp:?}/$set/lib"; fi
}
# The kit's own: unpacked whole, then pruned.
unpack own libgstreamer1.0-0 libgstreamer1.0-dev gstreamer1.0-tools \
  libgstreamer-plugins-base1.0-0 libgstreamer-plugins-base1.0-dev gstreamer1.0-plugins-base libgstreamer-gl1.0-0 \
  libglib2.0-0 libglib2.0-dev liborc-0.4-0 libgudev-1.0-0 pkgconf-bin libpkgconf3
# plugins-bad: unpacked aside; only the CUDA library and two plugins are kept.
unpack bad libgstreamer-plugins-bad1.0-0 libgstreamer-plugins-bad1.0-dev gstreamer1.0-plugins-bad
# Libraries the above link that a bare Ubuntu may lack (found with ldd).
unpack sys zlib1g libpcre2-8-0 libffi8 libselinux1 libmount1 libblkid1 libudev1 libunwind8 libdw1 libelf1 \
  liblzma5 libbz2-1.0 libexpat1 libmd0 libbsd0 libx11-6 libx11-xcb1 libxcb1 libxau6 libxdmcp6 \
  libwayland-client0 libwayland-cursor0 libwayland-egl1 libwayland-server0 libdrm2 libgbm1 \
  libglvnd0 libgl1 libglx0 libegl1 libgles2
# Their .pc files, which the GStreamer .pc files require (pkgconf walks
# Requires.private too); of these, GL/, KHR/ and EGL/ headers are kept as
# well: gst/cuda's headers include CUDA's cudaGL.h, which includes GL/gl.h.
unpack pc libgl-dev libegl-dev libglx-dev libgles-dev libgudev-1.0-dev liborc-0.4-dev libunwind-dev libdw-dev \
  libelf-dev zlib1g-dev libpcre2-dev libffi-dev libselinux1-dev libsepol-dev libmount-dev libblkid-dev liblzma-dev \
  libudev-dev libwayland-dev libx11-dev libx11-xcb-dev libxcb1-dev libxau-dev libxdmcp-dev x11proto-dev libdrm-dev \
  libgbm-dev

rm -rf "$gst"
mkdir -p "$gst/syslib"
cp -a "$tmp/own/usr" "$gst/"
b="$tmp/bad/$lib"
cp -a "$b"/libgst{cuda,codecparsers,codecs}-1.0.so* "$gst/$lib/"
cp -a "$b/pkgconfig/gstreamer-cuda-1.0.pc" "$gst/$lib/pkgconfig/"
cp -a "$tmp/bad/usr/include/gstreamer-1.0/gst/cuda" "$gst/usr/include/gstreamer-1.0/gst/"

# Plugins: only what gpu-check.sh's pipelines use (the rest would need more
# libraries). gstreamer-1.0/include holds gstglconfig.h (gstreamer-gl-1.0.pc).
plugins="$gst/$lib/gstreamer-1.0"
keep="coreelements coretracers app videotestsrc videoconvertscale videorate"
find "$plugins" -maxdepth 1 -name 'libgst*.so' | while read -r p; do
  n=$(basename "$p" .so); n=${n#libgst}
  case " $keep " in *" $n "*) ;; *) rm "$p" ;; esac
done
cp "$tmp/bad/$lib/gstreamer-1.0"/libgst{nvcodec,debugutilsbad}.so "$plugins/"

# Not needed: docs, translations, GObject introspection, static libraries,
# gdb scripts, the PTP helper (needs libcap and privileges).
rm -rf "$gst/usr/share/"{doc,man,locale,gir-1.0,gtk-doc,lintian,bash-completion,gdb,glib-2.0,aclocal} \
  "$gst/$lib/girepository-1.0" "$gst/$lib/gstreamer1.0/gstreamer-1.0/gst-ptp-helper"
find "$gst" -name '*.a' -delete

# System libraries, flat, each under its soname (what the loader asks for).
find "$tmp/sys/$lib" -maxdepth 1 -type f -name '*.so*' | while read -r f; do
  so=$(objdump -p "$f" | awk '/SONAME/ {print $2}')
  [ -n "$so" ] && cp "$f" "$gst/syslib/$so"
done

# .pc files (and the GL headers) of the libraries GStreamer's .pc files require.
find "$tmp/pc" -name '*.pc' -exec cp {} "$gst/$lib/pkgconfig/" \;
# Some spell /usr out in other variables: make every path follow prefix=.
# shellcheck disable=SC2016  # ${prefix} is pkg-config's
sed -i -E '/^prefix=/! s#^([a-z_]+)=/usr(/|$)#\1=${prefix}\2#' "$gst/$lib/pkgconfig/"*.pc
cp -r "$tmp/pc/usr/include/"{GL,KHR,EGL} "$gst/usr/include/"

# Link-time names of the GL libraries that gstreamer-cuda-1.0.pc links (-lGL
# -lGLESv2; a machine without libgl-dev has only the .so.N names).
ln -s ../../../syslib/libGL.so.1 "$gst/$lib/libGL.so"
ln -s ../../../syslib/libGLESv2.so.2 "$gst/$lib/libGLESv2.so"

# meson looks for pkg-config: Debian's pkgconf (libpkgconf is in usr/lib).
ln -sf pkgconf "$gst/usr/bin/pkg-config"

# Each ELF file must find its libraries in the kit, besides glibc, libstdc++
# and libgcc_s (which every machine has).
bad_deps=$(find "$gst" -type f \( -name '*.so*' -o -perm -u+x \) | while read -r f; do
  [ "$(head -c4 "$f" | tail -c3)" = ELF ] || continue
  LD_LIBRARY_PATH="$gst/$lib:$gst/syslib" ldd "$f" 2>/dev/null |
    awk -v f="${f#"$gst"/}" -v k="$gst" '/=>/ && index($3, k) != 1 &&
      $1 !~ /^(libc|libm|libdl|libpthread|librt|libstdc\+\+|libgcc_s)\.so/ {print f ": " $1 " " $3}'
done)
if [ -n "$bad_deps" ]; then
  echo "libraries from outside the kit:"; echo "$bad_deps"; exit 1
fi
du -sh "$gst"
