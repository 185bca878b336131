// SPDX-License-Identifier: MIT
// What i2sbseg reports about a frame besides its pixels: the class-map meta
// and region-of-interest metas on the output buffer, the element message.
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <vector>

#include <i2sbseg/segmenter.h>

namespace i2sbseg_gst {

// One GstVideoRegionOfInterestMeta per class present in `map` (w x h, the
// output's size), class 0 (the background) excepted: the bounding box of
// its pixels, typed with the class name, with an "i2sbseg/class" param
// holding class-index (uint), class-name (string) and pixel-share (double).
void attach_roi_metas(GstBuffer* outbuf, const i2sbseg::Segmenter& segmenter, const std::vector<std::uint8_t>& map,
                      int w, int h);

// A GstI2sbSegMeta (<i2sbseg/i2sbsegmeta.h>) with a copy of `map` (w x h), the
// class names and colours.
void attach_class_map_meta(GstBuffer* outbuf, const i2sbseg::Segmenter& segmenter,
                           const std::vector<std::uint8_t>& map, int w, int h);

// Posts the element message "i2sbseg" of post-messages=true: timestamp (the
// input's PTS), model-ran, inference-time (ns; 0 when the map was reused),
// class-names and class-shares (fraction of the map's pixels per class).
void post_frame_message(GstElement* element, GstBuffer* inbuf, bool ran, GstClockTime took,
                        const i2sbseg::Segmenter& segmenter, const std::vector<std::uint8_t>& map);

}  // namespace i2sbseg_gst
