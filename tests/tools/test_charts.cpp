// SPDX-License-Identifier: MIT
// tools/charts: lines land where their data says, inside the plot area.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include <opencv2/imgproc.hpp>

#include "../../tools/charts.h"

using namespace i2sbseg::tools::charts;

namespace {

const cv::Scalar kRed(0, 0, 255);

bool is_colour(const cv::Vec3b& p, const cv::Scalar& c) {
  return std::abs(p[0] - c[0]) + std::abs(p[1] - c[1]) + std::abs(p[2] - c[2]) < 60;
}

// Pixels of colour `c` within `radius` of (x, y).
bool colour_near(const cv::Mat& img, const cv::Scalar& c, cv::Point2d at, int radius) {
  for (int y = cvRound(at.y) - radius; y <= cvRound(at.y) + radius; ++y)
    for (int x = cvRound(at.x) - radius; x <= cvRound(at.x) + radius; ++x)
      if (x >= 0 && y >= 0 && x < img.cols && y < img.rows && is_colour(img.at<cv::Vec3b>(y, x), c)) return true;
  return false;
}

// Along the plot area's diagonal (bottom left to top right) there is the
// colour, and every pixel of it inside the plot lies near that diagonal.
void expect_diagonal(const cv::Mat& img, const cv::Rect& plot, const cv::Scalar& c) {
  for (double t = 0.05; t < 1; t += 0.05)
    EXPECT_TRUE(colour_near(img, c, {plot.x + t * (plot.width - 1), plot.y + (1 - t) * (plot.height - 1)}, 3)) << t;
  const double w = plot.width - 1, h = plot.height - 1;
  for (int y = plot.y; y < plot.br().y; ++y)
    for (int x = plot.x; x < plot.br().x; ++x) {
      if (!is_colour(img.at<cv::Vec3b>(y, x), c)) continue;
      // Distance from the line through (plot.x, plot.y + h) and (plot.x + w, plot.y).
      const double d = std::abs(h * (x - plot.x) + w * (y - plot.y) - w * h) / std::hypot(w, h);
      EXPECT_LT(d, 4) << "at " << x << "," << y;
    }
}

}  // namespace

TEST(Charts, ALineFromCornerToCornerFollowsThePlotDiagonal) {
  ChartOptions o;
  o.title = "title", o.x_label = "x", o.y_label = "y";
  o.size = {400, 300};
  cv::Rect plot;
  const cv::Mat img = draw_line_chart({{"diagonal", {{0, 0}, {1, 1}}, kRed}}, o, &plot);
  ASSERT_EQ(img.type(), CV_8UC3);
  EXPECT_EQ(img.size(), o.size);
  ASSERT_GT(plot.width, 200);
  ASSERT_GT(plot.height, 150);
  expect_diagonal(img, plot, kRed);
  // Nothing of the series above the top axis (the title is there); its
  // legend swatch sits right of the plot.
  for (int y = 0; y < plot.y; ++y)
    for (int x = 0; x < img.cols; ++x) ASSERT_FALSE(is_colour(img.at<cv::Vec3b>(y, x), kRed)) << x << "," << y;
  bool legend = false;
  for (int y = plot.y; y < plot.br().y && !legend; ++y)
    for (int x = plot.br().x + 2; x < img.cols && !legend; ++x) legend = is_colour(img.at<cv::Vec3b>(y, x), kRed);
  EXPECT_TRUE(legend);
}

TEST(Charts, LinesAreClippedToAFixedRange) {
  ChartOptions o;
  o.x_min = 0, o.x_max = 0.5, o.y_min = 0, o.y_max = 0.5;
  cv::Rect plot;
  // Unnamed: no legend, so nothing of the colour may be outside the plot.
  const cv::Mat img = draw_line_chart({{"", {{0, 0}, {1, 1}}, kRed}}, o, &plot);
  expect_diagonal(img, plot, kRed);
  for (int y = 0; y < img.rows; ++y)
    for (int x = 0; x < img.cols; ++x) {
      if (plot.contains({x, y})) continue;
      ASSERT_FALSE(is_colour(img.at<cv::Vec3b>(y, x), kRed)) << x << "," << y;
    }
}

TEST(Charts, ALogScaleMakesPowersOfTenEvenlySpaced) {
  ChartOptions o;
  o.log_y = true;
  cv::Rect plot;
  // 0.01 .. 100: on a log axis, a straight line; the 0 and the NaN are left out.
  const Series s{"", {{0, 0.01}, {1, 1}, {2, 100}, {3, 0}, {4, NAN}}, palette_color(3)};
  o.x_max = 2;
  const cv::Mat img = draw_line_chart({s}, o, &plot);
  expect_diagonal(img, plot, palette_color(3));
}

TEST(Charts, DefaultColoursComeFromThePalette) {
  cv::Rect plot;
  const cv::Mat img = draw_line_chart({{"a", {{0, 0}, {1, 0}}}, {"b", {{0, 1}, {1, 1}}}}, ChartOptions{}, &plot);
  EXPECT_TRUE(colour_near(img, palette_color(0), {plot.x + plot.width / 2.0, plot.br().y - 1.0}, 3));
  EXPECT_TRUE(colour_near(img, palette_color(1), {plot.x + plot.width / 2.0, double(plot.y)}, 3));
  EXPECT_NE(palette_color(0), palette_color(1));
  EXPECT_EQ(palette_color(0), palette_color(10));
}

TEST(Charts, StackingAddsHeightsAndWritingFailsLoudly) {
  const cv::Mat a(10, 30, CV_8UC3, cv::Scalar(0, 0, 0)), b(20, 50, CV_8UC3, cv::Scalar(0, 0, 0));
  const cv::Mat s = stack_vertically({a, b});
  EXPECT_EQ(s.rows, 30);
  EXPECT_EQ(s.cols, 50);
  EXPECT_EQ(s.at<cv::Vec3b>(5, 40), cv::Vec3b(255, 255, 255));  // the narrower one widened with white
  EXPECT_TRUE(stack_vertically({}).empty());
  try {
    write_png(a, "/nonexistent-folder/x.png");
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-folder/x.png"), std::string::npos) << e.what();
  }
}
