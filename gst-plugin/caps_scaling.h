// SPDX-License-Identifier: MIT
// Width/height fields across an element whose output is `factor` x its
// input: the arithmetic of i2sbseg's transform_caps, on GValues.
#pragma once

#include <gst/gst.h>

namespace i2sbseg_gst {

// Maps one width or height value (int, int range or list of those): x factor
// towards the source pad (a range keeps only multiples of factor), / factor
// towards the sink pad (exact multiples only). factor 0 (no model loaded
// yet): any size. Initialises `out` and returns true, or returns false
// (leaving `out` unset) when nothing maps.
bool map_dimension(const GValue* in, GValue* out, int factor, bool to_src);

}  // namespace i2sbseg_gst
