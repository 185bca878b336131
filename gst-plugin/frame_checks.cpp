#include "frame_checks.h"

#include <cstdint>

namespace i2sbseg_gst {

bool video_meta_fits(GstBuffer* buffer, const GstVideoInfo* info, std::string& why) {
  const GstVideoMeta* meta = gst_buffer_get_video_meta(buffer);
  if (!meta) return true;
  if (meta->format != GST_VIDEO_INFO_FORMAT(info)) {
    why = std::string("its GstVideoMeta says ") + gst_video_format_to_string(meta->format);
    return false;
  }
  if (static_cast<gint>(meta->width) < GST_VIDEO_INFO_WIDTH(info) ||
      static_cast<gint>(meta->height) < GST_VIDEO_INFO_HEIGHT(info)) {
    why = "its GstVideoMeta says " + std::to_string(meta->width) + "x" + std::to_string(meta->height);
    return false;
  }
  // Packed formats: one plane, rows of width * bytes-per-pixel at the stride.
  const std::int64_t row = static_cast<std::int64_t>(GST_VIDEO_INFO_WIDTH(info)) * GST_VIDEO_INFO_COMP_PSTRIDE(info, 0);
  const std::int64_t stride = meta->stride[0];
  if (meta->n_planes < 1 || stride < row) {
    why = "its GstVideoMeta stride " + std::to_string(stride) + " is shorter than a row (" + std::to_string(row) +
          " bytes)";
    return false;
  }
  const std::int64_t end = static_cast<std::int64_t>(meta->offset[0]) +
                           stride * (GST_VIDEO_INFO_HEIGHT(info) - 1) + row;
  if (end > static_cast<std::int64_t>(gst_buffer_get_size(buffer))) {
    why = "its GstVideoMeta (offset " + std::to_string(meta->offset[0]) + ", stride " + std::to_string(stride) +
          ") places the last row's end at byte " + std::to_string(end);
    return false;
  }
  return true;
}

}  // namespace i2sbseg_gst
