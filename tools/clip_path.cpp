// SPDX-License-Identifier: MIT
#include "clip_path.h"

#include <algorithm>
#include <cmath>

namespace i2sbseg::tools {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kMargin = 0.0;  // pixels kept between the window and the image's edges

double lerp(double a, double b, double e) { return a + (b - a) * e; }

// A side of `length` pixels around `centre`, rounded and kept inside [0, limit).
void place(double centre, double length, int limit, int& start, int& size) {
  size = std::clamp(static_cast<int>(std::lround(length)), 1, limit);
  start = std::clamp(static_cast<int>(std::lround(centre - size / 2.0)), 0, limit - size);
}

}  // namespace

ClipWindow clip_window(const ClipCamera& c, int i, int n) {
  const double t = n > 1 ? static_cast<double>(i) / (n - 1) : 0.0;
  const double e = (1.0 - std::cos(kPi * t)) / 2.0;
  const double iw = c.image_width, ih = c.image_height;
  double ww = iw * lerp(c.zoom_from, c.zoom_to, e);
  double wh = ww * c.out_height / c.out_width;
  if (wh > ih) {
    ww *= ih / wh;
    wh = ih;
  }
  const double cx = lerp(ww / 2 + kMargin, iw - ww / 2 - kMargin, e);
  const double cy = lerp(wh / 2 + kMargin, ih - wh / 2 - kMargin, e);
  ClipWindow w;
  place(std::clamp(cx, ww / 2, iw - ww / 2), ww, c.image_width, w.x, w.width);
  place(std::clamp(cy, wh / 2, ih - wh / 2), wh, c.image_height, w.y, w.height);
  return w;
}

}  // namespace i2sbseg::tools
