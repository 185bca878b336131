# Sourced by the pipelines/*.sh scripts: finds the i2sbseg element (installed,
# or the build's plugin in <repo>/build/gst-plugin) and checks gst-launch-1.0.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

need_i2sbseg() {
  command -v gst-launch-1.0 >/dev/null || { echo "$0: gst-launch-1.0 is missing: install gstreamer1.0-tools (bash scripts/install-deps.sh)" >&2; exit 1; }
  if ! gst-inspect-1.0 i2sbseg >/dev/null 2>&1; then
    if [ -f "$root/build/gst-plugin/libgsti2sbseg.so" ]; then
      export GST_PLUGIN_PATH="$root/build/gst-plugin${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
    fi
    gst-inspect-1.0 i2sbseg >/dev/null 2>&1 || { echo "$0: no i2sbseg element: build it (meson setup build && meson compile -C build) or install it" >&2; exit 1; }
  fi
}

need_model() {
  [ -f "$1" ] || { echo "$0: no model file '$1' (--model PATH)" >&2; exit 1; }
}
