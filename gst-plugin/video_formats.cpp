// SPDX-License-Identifier: MIT
#include "video_formats.h"

namespace i2sbseg_gst {
namespace {

struct FormatEntry {
  GstVideoFormat format;
  i2sbseg::PixelLayout layout;  // bytes per pixel, offsets of R, G, B
};

constexpr FormatEntry kFormats[] = {
    {GST_VIDEO_FORMAT_RGB, {3, 0, 1, 2}},  {GST_VIDEO_FORMAT_BGR, {3, 2, 1, 0}},
    {GST_VIDEO_FORMAT_RGBA, {4, 0, 1, 2}}, {GST_VIDEO_FORMAT_BGRA, {4, 2, 1, 0}},
    {GST_VIDEO_FORMAT_RGBx, {4, 0, 1, 2}}, {GST_VIDEO_FORMAT_BGRx, {4, 2, 1, 0}},
};

}  // namespace

std::string format_list(bool with_gray8) {
  std::string list;
  for (const FormatEntry& f : kFormats) list += (list.empty() ? "" : ", ") + std::string(gst_video_format_to_string(f.format));
  if (with_gray8) list += ", GRAY8";
  return "{ " + list + " }";
}

GstCaps* template_caps(bool with_gray8) {
  // GST_VIDEO_CAPS_MAKE() with the list built above (the macro needs a literal).
  const std::string caps = "video/x-raw, format = (string) " + format_list(with_gray8) +
                           ", width = " GST_VIDEO_SIZE_RANGE ", height = " GST_VIDEO_SIZE_RANGE
                           ", framerate = " GST_VIDEO_FPS_RANGE;
  return gst_caps_from_string(caps.c_str());
}

bool layout_for(GstVideoFormat format, i2sbseg::PixelLayout& layout) {
  for (const FormatEntry& f : kFormats)
    if (f.format == format) {
      layout = f.layout;
      return true;
    }
  return false;
}

}  // namespace i2sbseg_gst
