// SPDX-License-Identifier: MIT
// Line charts drawn with OpenCV, for the pictures the tool writes (the
// training loss curves, evaluation plots): no plotting library needed.
//
//   charts::Series loss{"loss", {{5, 1.8}, {10, 1.2}, {15, 0.7}}};
//   charts::ChartOptions o;
//   o.title = "classifier";
//   o.x_label = "iteration";
//   o.y_label = "loss";
//   o.log_y = true;
//   charts::write_png(charts::draw_line_chart({loss}, o), "loss.png");
//
// A chart: the title on top, the plot area framed in black with light grid
// lines at the ticks, tick values on both axes, the axis labels, and a
// legend right of the plot listing every named series with its colour.
// Axis ranges are the data's, widened to round tick values (1, 2 or 5
// times a power of ten), unless the options fix them. Lines are clipped to
// the plot area.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace i2sbseg::tools::charts {

struct Series {
  std::string name;                 // legend entry; empty: not in the legend
  std::vector<cv::Point2d> points;  // (x, y) in data units, joined in this order
  // BGR (OpenCV's order). Negative: palette_color() of the series' index.
  cv::Scalar color{-1, -1, -1};
};

struct ChartOptions {
  std::string title, x_label, y_label;
  cv::Size size{640, 240};  // the whole picture, in pixels
  // y on a log10 scale. Points with y <= 0 (and any non-finite point) are
  // left out; the line breaks there.
  bool log_y = false;
  // Fixed axis ranges; NaN (the default): from the data, rounded outwards.
  double x_min = NAN, x_max = NAN, y_min = NAN, y_max = NAN;
  int thickness = 2;  // line width in pixels
};

// The i-th colour (BGR) of a palette of ten distinct colours, repeating.
cv::Scalar palette_color(int i);

// Draws the chart as a CV_8UC3 picture of `options.size`. `plot_area`, when
// given, receives the pixel rectangle of the data area (inside the frame):
// x_min maps to its left edge, y_max to its top edge.
cv::Mat draw_line_chart(const std::vector<Series>& series, const ChartOptions& options,
                        cv::Rect* plot_area = nullptr);

// Stacks pictures top to bottom, widening narrower ones with white on the
// right. Empty input: an empty Mat.
cv::Mat stack_vertically(const std::vector<cv::Mat>& panels);

// Writes `image` as PNG; throws std::runtime_error naming `path` (and
// OpenCV's reason, when it gives one) when that fails.
void write_png(const cv::Mat& image, const std::string& path);

}  // namespace i2sbseg::tools::charts
