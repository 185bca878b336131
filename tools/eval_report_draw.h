// SPDX-License-Identifier: MIT
// Drawing helpers for `eval --report` (plain OpenCV, BGR 8-bit pictures).
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <torch/types.h>

#include <i2sbseg/config.h>

namespace i2sbseg::tools {

const cv::Scalar kInk(30, 30, 30), kGrid(220, 220, 220), kWhite(255, 255, 255);

// A class colour (RGB in the bundle) as an OpenCV BGR scalar.
cv::Scalar bgr(const std::array<std::uint8_t, 3>& rgb);
// (H, W) uint8 class indices -> BGR picture in the classes' colours
// (indices beyond the list in grey).
cv::Mat colour_labels(const torch::Tensor& labels, const std::vector<ClassInfo>& classes);
// (H, W, 3) uint8 RGB -> BGR picture.
cv::Mat rgb_picture(const torch::Tensor& hwc);
// `picture` scaled (nearest neighbour, aspect kept) into the square cell at
// `corner` of side `side`.
void paste_fitted(cv::Mat& canvas, const cv::Mat& picture, cv::Point corner, int side);

// Text of the reports' one font; `origin` is the left end of the baseline.
void put_text(cv::Mat& canvas, const std::string& text, cv::Point origin, double scale = 0.45,
              const cv::Scalar& colour = kInk);
cv::Size text_size(const std::string& text, double scale = 0.45);
// Text centred on x = centre_x.
void put_text_centred(cv::Mat& canvas, const std::string& text, int centre_x, int baseline_y, double scale = 0.45);
// Text turned a quarter to the left (a y-axis label), centred on `centre`.
void put_text_vertical(cv::Mat& canvas, const std::string& text, cv::Point centre, double scale = 0.45);
// A dashed line.
void dashed_line(cv::Mat& canvas, cv::Point a, cv::Point b, const cv::Scalar& colour, int thickness = 1);

// A legend entry: a swatch of `colour` (or a line sample when `line`) and a
// name.
struct LegendItem {
  std::string name;
  cv::Scalar colour;
  bool line = false, dashed = false;
};
std::vector<LegendItem> class_legend(const std::vector<ClassInfo>& classes);
// Height the items take when laid out in lines of at most `width` px.
int legend_height(const std::vector<LegendItem>& items, int width);
// Draws the items from (left, top) in lines of at most `width` px.
void draw_legend(cv::Mat& canvas, const std::vector<LegendItem>& items, int left, int top, int width);

// A vertical axis from lo to hi over the plot rectangle: ticks, labels,
// grid lines; value_y maps a value to its row.
struct YAxis {
  double lo = 0, hi = 1;
  cv::Rect plot;
  int value_y(double v) const;
  void draw(cv::Mat& canvas, const std::string& label, int ticks = 5) const;
};

}  // namespace i2sbseg::tools
