// SPDX-License-Identifier: MIT
// What i2sbseg reports about a frame besides its pixels: the class-map meta
// and region-of-interest metas on the output buffer, the element message.
#pragma once

#include <gst/gst.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include <i2sbseg/segmenter.h>

#include "regions.h"

namespace i2sbseg_gst {

// One GstVideoRegionOfInterestMeta per connected region (8-connectivity,
// regions.h) of each class but 0 (the background) in `map` (w x h: the
// output frame's size, so the boxes are in output pixels), regions of fewer
// than `min_area` pixels left out: the region's bounding box, typed with the
// class name, with an "i2sbseg/class" param holding class-index (uint),
// class-name (string), pixel-share (double: the region's share of the map)
// and pixels (uint64: the region's pixel count). Indices beyond `classes`
// have no name and get no meta. At most `max_regions` metas (0: no limit):
// the largest regions; returns how many regions were left out for that.
std::size_t attach_roi_metas(GstBuffer* outbuf, const std::vector<i2sbseg::ClassInfo>& classes,
                             const std::vector<std::uint8_t>& map, int w, int h, guint min_area,
                             guint max_regions);
// The regions those metas are made of (label_regions, classes beyond
// `classes` left out, keep_largest), for one pass to serve the metas and the
// results file; `dropped` gets how many keep_largest left out.
std::vector<Region> reported_regions(const std::vector<i2sbseg::ClassInfo>& classes,
                                     const std::vector<std::uint8_t>& map, int w, int h, guint min_area,
                                     guint max_regions, std::size_t& dropped);
// The metas of regions already found, over a map of `map_pixels` pixels.
void attach_roi_metas(GstBuffer* outbuf, const std::vector<i2sbseg::ClassInfo>& classes,
                      const std::vector<Region>& regions, std::size_t map_pixels);

// A GstI2sbSegMeta (<i2sbseg/i2sbsegmeta.h>) with a copy of `map` (w x h), the
// class names and colours.
void attach_class_map_meta(GstBuffer* outbuf, const i2sbseg::Segmenter& segmenter,
                           const std::vector<std::uint8_t>& map, int w, int h);

// Pixels of each class index below `num_classes` in `map`, counted once a
// frame for the element message and the results file.
std::vector<std::uint64_t> class_pixel_counts(const std::vector<std::uint8_t>& map, std::size_t num_classes);

// Posts the element message "i2sbseg" of post-messages=true: timestamp (the
// input's PTS), model-ran, inference-time (ns; 0 when the map was reused),
// class-names and class-shares (fraction of the map's `map_pixels` pixels
// per class, from class_pixel_counts).
void post_frame_message(GstElement* element, GstBuffer* inbuf, bool ran, GstClockTime took,
                        const i2sbseg::Segmenter& segmenter, const std::vector<std::uint64_t>& counts,
                        std::size_t map_pixels);

}  // namespace i2sbseg_gst
