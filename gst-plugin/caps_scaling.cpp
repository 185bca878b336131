// SPDX-License-Identifier: MIT
#include "caps_scaling.h"

#include <algorithm>

namespace i2sbseg_gst {

bool map_dimension(const GValue* in, GValue* out, int factor, bool to_src) {
  if (factor == 0) {
    g_value_init(out, GST_TYPE_INT_RANGE);
    gst_value_set_int_range(out, 1, G_MAXINT);
    return true;
  }
  if (G_VALUE_HOLDS_INT(in)) {
    const int v = g_value_get_int(in);
    if (to_src ? v > G_MAXINT / factor : v % factor != 0) return false;
    g_value_init(out, G_TYPE_INT);
    g_value_set_int(out, to_src ? v * factor : v / factor);
    return true;
  }
  if (GST_VALUE_HOLDS_INT_RANGE(in)) {
    int lo = gst_value_get_int_range_min(in), hi = gst_value_get_int_range_max(in);
    if (to_src) {
      hi = std::min(hi, G_MAXINT / factor);
      if (lo > hi) return false;
      lo *= factor;
      hi *= factor;
    } else {
      lo = (lo + factor - 1) / factor;
      hi /= factor;
      if (lo > hi) return false;
    }
    if (lo == hi) {
      g_value_init(out, G_TYPE_INT);
      g_value_set_int(out, lo);
    } else {
      g_value_init(out, GST_TYPE_INT_RANGE);
      // Towards the source only multiples of the factor exist.
      gst_value_set_int_range_step(out, lo, hi, to_src ? factor : 1);
    }
    return true;
  }
  if (GST_VALUE_HOLDS_LIST(in)) {
    g_value_init(out, GST_TYPE_LIST);
    for (guint i = 0; i < gst_value_list_get_size(in); ++i) {
      GValue item = G_VALUE_INIT;
      if (map_dimension(gst_value_list_get_value(in, i), &item, factor, to_src))
        gst_value_list_append_and_take_value(out, &item);
    }
    if (gst_value_list_get_size(out) > 0) return true;
    g_value_unset(out);
    return false;
  }
  return false;
}

}  // namespace i2sbseg_gst
