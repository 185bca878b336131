// SPDX-License-Identifier: MIT
#include "frame_results.h"

#include <gst/video/video.h>

#include <algorithm>
#include <string>

#include <i2sbseg/i2sbsegmeta.h>

#include "regions.h"

namespace i2sbseg_gst {

std::vector<std::uint64_t> class_pixel_counts(const std::vector<std::uint8_t>& map, std::size_t num_classes) {
  std::vector<std::uint64_t> counts(num_classes, 0);
  for (std::uint8_t c : map)
    if (c < counts.size()) ++counts[c];
  return counts;
}

void post_frame_message(GstElement* element, GstBuffer* inbuf, bool ran, GstClockTime took,
                        const i2sbseg::Segmenter& segmenter, const std::vector<std::uint64_t>& counts,
                        std::size_t map_pixels) {
  const auto& classes = segmenter.classes();
  GValue names = G_VALUE_INIT, shares = G_VALUE_INIT;
  g_value_init(&names, GST_TYPE_ARRAY);
  g_value_init(&shares, GST_TYPE_ARRAY);
  for (std::size_t k = 0; k < classes.size(); ++k) {
    GValue name = G_VALUE_INIT, share = G_VALUE_INIT;
    g_value_init(&name, G_TYPE_STRING);
    g_value_set_string(&name, classes[k].name.c_str());
    gst_value_array_append_and_take_value(&names, &name);
    g_value_init(&share, G_TYPE_DOUBLE);
    g_value_set_double(&share, map_pixels == 0 ? 0.0 : static_cast<double>(counts[k]) / map_pixels);
    gst_value_array_append_and_take_value(&shares, &share);
  }
  GstStructure* s = gst_structure_new("i2sbseg", "timestamp", G_TYPE_UINT64, GST_BUFFER_PTS(inbuf),
                                      "model-ran", G_TYPE_BOOLEAN, ran, "inference-time", G_TYPE_UINT64,
                                      ran ? took : 0, nullptr);
  gst_structure_take_value(s, "class-names", &names);
  gst_structure_take_value(s, "class-shares", &shares);
  gst_element_post_message(element, gst_message_new_element(GST_OBJECT(element), s));
}

std::vector<Region> reported_regions(const std::vector<i2sbseg::ClassInfo>& classes,
                                     const std::vector<std::uint8_t>& map, int w, int h, guint min_area,
                                     guint max_regions, std::size_t& dropped) {
  std::vector<Region> regions = label_regions(map.data(), w, h, min_area);
  regions.erase(std::remove_if(regions.begin(), regions.end(),
                               [&](const Region& r) { return r.class_index >= classes.size(); }),
                regions.end());
  dropped = keep_largest(regions, max_regions);
  return regions;
}

std::size_t attach_roi_metas(GstBuffer* outbuf, const std::vector<i2sbseg::ClassInfo>& classes,
                             const std::vector<std::uint8_t>& map, int w, int h, guint min_area,
                             guint max_regions) {
  std::size_t dropped = 0;
  attach_roi_metas(outbuf, classes, reported_regions(classes, map, w, h, min_area, max_regions, dropped),
                   map.size());
  return dropped;
}

void attach_roi_metas(GstBuffer* outbuf, const std::vector<i2sbseg::ClassInfo>& classes,
                      const std::vector<Region>& regions, std::size_t map_pixels) {
  for (const Region& r : regions) {
    const char* name = classes[r.class_index].name.c_str();
    GstVideoRegionOfInterestMeta* meta = gst_buffer_add_video_region_of_interest_meta(
        outbuf, name, static_cast<guint>(r.x), static_cast<guint>(r.y), static_cast<guint>(r.w),
        static_cast<guint>(r.h));
    gst_video_region_of_interest_meta_add_param(
        meta, gst_structure_new("i2sbseg/class", "class-index", G_TYPE_UINT, static_cast<guint>(r.class_index),
                                "class-name", G_TYPE_STRING, name, "pixel-share", G_TYPE_DOUBLE,
                                static_cast<double>(r.pixels) / map_pixels, "pixels", G_TYPE_UINT64,
                                static_cast<guint64>(r.pixels), nullptr));
  }
}

void attach_class_map_meta(GstBuffer* outbuf, const i2sbseg::Segmenter& segmenter,
                           const std::vector<std::uint8_t>& map, int w, int h) {
  const auto& classes = segmenter.classes();
  std::vector<const gchar*> names;
  std::vector<guint8> colors;
  for (const auto& c : classes) {
    names.push_back(c.name.c_str());
    colors.insert(colors.end(), c.color.begin(), c.color.end());
  }
  names.push_back(nullptr);
  gst_buffer_add_i2sbseg_meta(outbuf, static_cast<guint>(w), static_cast<guint>(h), map.data(),
                              static_cast<guint>(classes.size()), names.data(), colors.data());
}

}  // namespace i2sbseg_gst
