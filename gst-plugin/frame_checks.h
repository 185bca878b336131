// Checks on input buffers that GStreamer leaves to the element.
#pragma once

#include <gst/video/video.h>

#include <string>

namespace i2sbseg_gst {

// Whether the buffer's GstVideoMeta describes a frame of `info` (format, at
// least its size) whose rows all lie inside the buffer. gst_video_frame_map
// trusts the meta's offsets and strides; a lying meta would make the element
// read past the buffer. On false `why` says what does not fit.
bool video_meta_fits(GstBuffer* buffer, const GstVideoInfo* info, std::string& why);

}  // namespace i2sbseg_gst
