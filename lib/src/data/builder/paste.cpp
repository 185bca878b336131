// SPDX-License-Identifier: MIT
// Cutouts as pasted (<i2sbseg/dataset_builder.h>): cropped to their alpha,
// scaled with premultiplied alpha, alpha-blended onto the image with the
// class written to the mask where the cutout is mostly opaque.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <opencv2/imgproc.hpp>

#include <i2sbseg/dataset_builder.h>

namespace i2sbseg {
namespace {

// Colour times alpha (divide = false) or back (divide = true), in place.
void premultiply(cv::Mat& f, bool divide) {
  for (int y = 0; y < f.rows; ++y) {
    cv::Vec4f* p = f.ptr<cv::Vec4f>(y);
    for (int x = 0; x < f.cols; ++x)
      for (int k = 0; k < 3; ++k) p[x][k] = divide ? (p[x][3] > 0 ? p[x][k] / p[x][3] : 0.f) : p[x][k] * p[x][3];
  }
}

}  // namespace

cv::Mat prepare_cutout(const cv::Mat& rgba, int max_side) {
  if (rgba.type() != CV_8UC4) throw std::invalid_argument("prepare_cutout: needs an 8-bit 4-channel image");
  cv::Mat alpha;
  cv::extractChannel(rgba, alpha, 3);
  const cv::Rect box = cv::boundingRect(alpha);  // non-zero pixels
  if (box.empty()) return cv::Mat();
  const cv::Mat cropped = rgba(box);
  const int longest = std::max(box.width, box.height);
  if (longest <= max_side) return cropped.clone();
  const double s = static_cast<double>(max_side) / longest;
  return scale_cutout(cropped, std::max(1, static_cast<int>(std::lround(box.width * s))),
                      std::max(1, static_cast<int>(std::lround(box.height * s))), false);
}

cv::Mat scale_cutout(const cv::Mat& rgba, int width, int height, bool flip) {
  if (rgba.type() != CV_8UC4 || width < 1 || height < 1)
    throw std::invalid_argument("scale_cutout: needs an 8-bit 4-channel image and a positive size");
  cv::Mat out;
  if (width == rgba.cols && height == rgba.rows) {
    out = rgba.clone();
  } else {
    cv::Mat f;
    rgba.convertTo(f, CV_32FC4, 1.0 / 255.0);
    premultiply(f, false);
    const bool shrink = width <= rgba.cols && height <= rgba.rows;
    cv::resize(f, f, cv::Size(width, height), 0, 0, shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
    premultiply(f, true);
    f.convertTo(out, CV_8UC4, 255.0);
  }
  if (flip) cv::flip(out, out, 1);
  return out;
}

void paste_cutout(cv::Mat& image, cv::Mat& mask, const cv::Mat& cutout_rgba, int class_index, int x, int y) {
  if (image.type() != CV_8UC3 || mask.type() != CV_8UC1 || mask.size() != image.size() ||
      cutout_rgba.type() != CV_8UC4 || class_index < 0 || class_index > 255)
    throw std::invalid_argument("paste_cutout: needs a 3-channel image, a same-size 8-bit mask, an RGBA cutout");
  const cv::Rect dst = cv::Rect(x, y, cutout_rgba.cols, cutout_rgba.rows) & cv::Rect(0, 0, image.cols, image.rows);
  for (int r = 0; r < dst.height; ++r) {
    const cv::Vec4b* src = cutout_rgba.ptr<cv::Vec4b>(dst.y - y + r) + (dst.x - x);
    cv::Vec3b* px = image.ptr<cv::Vec3b>(dst.y + r) + dst.x;
    std::uint8_t* m = mask.ptr<std::uint8_t>(dst.y + r) + dst.x;
    for (int c = 0; c < dst.width; ++c) {
      const int a = src[c][3];
      if (a == 0) continue;
      for (int k = 0; k < 3; ++k)
        px[c][k] = static_cast<std::uint8_t>((src[c][k] * a + px[c][k] * (255 - a) + 127) / 255);
      if (a > 127) m[c] = static_cast<std::uint8_t>(class_index);
    }
  }
}

}  // namespace i2sbseg
