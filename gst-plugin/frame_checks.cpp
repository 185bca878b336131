// SPDX-License-Identifier: MIT
#include "frame_checks.h"

#include <cstdint>

namespace i2sbseg_gst {
namespace {

// Why the buffer's GstVideoMeta does not describe a readable frame of
// `info` ("" when it does).
std::string meta_problem(const GstVideoMeta* meta, GstBuffer* buffer, const GstVideoInfo* info) {
  if (meta->format != GST_VIDEO_INFO_FORMAT(info))
    return std::string("its GstVideoMeta says ") + gst_video_format_to_string(meta->format);
  if (static_cast<gint>(meta->width) < GST_VIDEO_INFO_WIDTH(info) ||
      static_cast<gint>(meta->height) < GST_VIDEO_INFO_HEIGHT(info))
    return "its GstVideoMeta says " + std::to_string(meta->width) + "x" + std::to_string(meta->height);
  // Packed formats: one plane, rows of width * bytes-per-pixel at the stride.
  const std::int64_t row = static_cast<std::int64_t>(GST_VIDEO_INFO_WIDTH(info)) * GST_VIDEO_INFO_COMP_PSTRIDE(info, 0);
  const std::int64_t stride = meta->stride[0];
  if (meta->n_planes < 1 || stride < row)
    return "its GstVideoMeta stride " + std::to_string(stride) + " is shorter than a row (" + std::to_string(row) +
           " bytes)";
  const std::int64_t end = static_cast<std::int64_t>(meta->offset[0]) +
                           stride * (GST_VIDEO_INFO_HEIGHT(info) - 1) + row;
  if (end > static_cast<std::int64_t>(gst_buffer_get_size(buffer)))
    return "its GstVideoMeta (offset " + std::to_string(meta->offset[0]) + ", stride " + std::to_string(stride) +
           ") places the last row's end at byte " + std::to_string(end);
  return "";
}

}  // namespace

std::string input_buffer_problem(GstBuffer* buffer, const GstVideoInfo* info) {
  const gsize size = gst_buffer_get_size(buffer);
  const std::string frame = std::to_string(GST_VIDEO_INFO_WIDTH(info)) + "x" +
                            std::to_string(GST_VIDEO_INFO_HEIGHT(info)) + " " + GST_VIDEO_INFO_NAME(info) + " frame";
  const GstVideoMeta* meta = gst_buffer_get_video_meta(buffer);
  if (!meta) {
    if (size >= GST_VIDEO_INFO_SIZE(info)) return "";
    return "Input buffer of " + std::to_string(size) + " bytes is smaller than a " + frame + " (" +
           std::to_string(GST_VIDEO_INFO_SIZE(info)) + " bytes) as the caps describe it";
  }
  const std::string why = meta_problem(meta, buffer, info);
  if (why.empty()) return "";
  return "Could not read a " + frame + " from an input buffer of " + std::to_string(size) + " bytes: " + why;
}

}  // namespace i2sbseg_gst
