# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# Sourced by the scripts that take files from Debian packages without
# installing anything: apt-get download (needs Debian's apt sources), then
# dpkg-deb. The callers own the folders (git-ignored: .gpukit/, .debcache/).
#
#   deb_unpack DIR PACKAGE...     downloads the PACKAGEs into a temporary
#                                 folder and unpacks them all into DIR
#   deb_newest CACHE PACKAGE      prints CACHE's newest PACKAGE_*.deb, or nothing
#   deb_cached CACHE PACKAGE [NOTE]
#                                 prints CACHE's newest PACKAGE_*.deb, downloaded
#                                 there first when there is none ("downloading
#                                 PACKAGE (NOTE)" on stderr)

deb_unpack() {
  local dir=$1 dl f
  shift
  mkdir -p "$dir"
  dl=$(mktemp -d)
  chmod 777 "$dl"  # apt-get, as root, downloads as the _apt user
  (cd "$dl" && apt-get download -q "$@") || { rm -rf "$dl"; return 1; }
  for f in "$dl"/*.deb; do dpkg-deb -x "$f" "$dir" || { rm -rf "$dl"; return 1; }; done
  rm -rf "$dl"
}

deb_newest() {
  find "$1" -maxdepth 1 -name "${2}_*.deb" | sort | tail -n 1
}

deb_cached() {
  local cache=$1 pkg=$2 deb
  deb=$(deb_newest "$cache" "$pkg")
  if [ -z "$deb" ]; then
    echo "downloading $pkg${3:+ ($3)}" >&2
    (cd "$cache" && apt-get download "$pkg" >&2) ||
      { echo "$(basename "$0" .sh): apt-get download $pkg failed (apt-get update first?)" >&2; return 1; }
    deb=$(deb_newest "$cache" "$pkg")
  fi
  echo "$deb"
}
