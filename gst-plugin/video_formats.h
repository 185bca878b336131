// SPDX-License-Identifier: MIT
// The packed RGB formats the element reads, written once: the pad templates'
// caps and the format -> byte layout mapping both come from this table.
#pragma once

#include <gst/video/video.h>

#include <string>

#include <i2sbseg/pixel_layout.h>

namespace i2sbseg_gst {

// "{ RGB, BGR, ... }": the formats the sink pad takes (overlay mode outputs
// the same one); with_gray8 adds GRAY8 (mask mode's output) for the source pad.
std::string format_list(bool with_gray8);

// The sink or source pad template's caps (video/x-raw with format_list()).
GstCaps* template_caps(bool with_gray8);

// The byte layout of `format`; false when the element does not read it.
bool layout_for(GstVideoFormat format, i2sbseg::PixelLayout& layout);

}  // namespace i2sbseg_gst
