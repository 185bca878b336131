// SPDX-License-Identifier: MIT
// Checks on input buffers that GStreamer leaves to the element.
#pragma once

#include <gst/video/video.h>

#include <string>

namespace i2sbseg_gst {

// What keeps `buffer` from being read as a frame of `info`, as a sentence
// for the user; "" when it can be read. Without a GstVideoMeta the buffer
// must hold the caps' frame at the default strides. With one, the meta must
// describe a frame of `info` (format, at least its size) whose rows all lie
// inside the buffer: gst_video_frame_map trusts its offsets and strides, so
// a lying meta would make the element read past the buffer.
std::string input_buffer_problem(GstBuffer* buffer, const GstVideoInfo* info);

}  // namespace i2sbseg_gst
