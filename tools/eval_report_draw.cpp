// SPDX-License-Identifier: MIT
#include "eval_report_draw.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

namespace i2sbseg::tools {
namespace {

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr int kSwatch = 14, kItemGap = 18, kLineHeight = 22;

int item_width(const LegendItem& item) { return (item.line ? 28 : kSwatch) + 6 + text_size(item.name).width; }

}  // namespace

cv::Scalar bgr(const std::array<std::uint8_t, 3>& rgb) { return cv::Scalar(rgb[2], rgb[1], rgb[0]); }

cv::Mat colour_labels(const torch::Tensor& labels, const std::vector<ClassInfo>& classes) {
  const torch::Tensor l = labels.to(torch::kCPU, torch::kUInt8).contiguous();
  const int h = static_cast<int>(l.size(0)), w = static_cast<int>(l.size(1));
  cv::Mat out(h, w, CV_8UC3);
  const std::uint8_t* p = l.data_ptr<std::uint8_t>();
  for (int y = 0; y < h; ++y) {
    auto* row = out.ptr<cv::Vec3b>(y);
    for (int x = 0; x < w; ++x) {
      const std::uint8_t c = p[static_cast<size_t>(y) * w + x];
      const std::array<std::uint8_t, 3> rgb = c < classes.size() ? classes[c].color : std::array<std::uint8_t, 3>{128, 128, 128};
      row[x] = cv::Vec3b(rgb[2], rgb[1], rgb[0]);
    }
  }
  return out;
}

cv::Mat rgb_picture(const torch::Tensor& hwc) {
  const torch::Tensor t = hwc.to(torch::kCPU, torch::kUInt8).contiguous();
  const cv::Mat rgb(static_cast<int>(t.size(0)), static_cast<int>(t.size(1)), CV_8UC3, t.data_ptr<std::uint8_t>());
  cv::Mat out;
  cv::cvtColor(rgb, out, cv::COLOR_RGB2BGR);  // a copy: `t` goes away
  return out;
}

void paste_fitted(cv::Mat& canvas, const cv::Mat& picture, cv::Point corner, int side) {
  const double f = static_cast<double>(side) / std::max(picture.cols, picture.rows);
  const int w = std::max(1, static_cast<int>(std::lround(picture.cols * f)));
  const int h = std::max(1, static_cast<int>(std::lround(picture.rows * f)));
  cv::Mat scaled;
  cv::resize(picture, scaled, cv::Size(w, h), 0, 0, cv::INTER_NEAREST);
  scaled.copyTo(canvas(cv::Rect(corner.x + (side - w) / 2, corner.y + (side - h) / 2, w, h)));
}

cv::Size text_size(const std::string& text, double scale) {
  int baseline = 0;
  return cv::getTextSize(text, kFont, scale, 1, &baseline);
}

void put_text(cv::Mat& canvas, const std::string& text, cv::Point origin, double scale, const cv::Scalar& colour) {
  cv::putText(canvas, text, origin, kFont, scale, colour, 1, cv::LINE_AA);
}

void put_text_centred(cv::Mat& canvas, const std::string& text, int centre_x, int baseline_y, double scale) {
  put_text(canvas, text, cv::Point(centre_x - text_size(text, scale).width / 2, baseline_y), scale);
}

void put_text_vertical(cv::Mat& canvas, const std::string& text, cv::Point centre, double scale) {
  const cv::Size s = text_size(text, scale);
  cv::Mat strip(s.height + 8, s.width + 4, CV_8UC3, kWhite);
  put_text(strip, text, cv::Point(2, s.height + 3), scale);
  cv::Mat turned;
  cv::rotate(strip, turned, cv::ROTATE_90_COUNTERCLOCKWISE);
  cv::Rect r(centre.x - turned.cols / 2, centre.y - turned.rows / 2, turned.cols, turned.rows);
  r &= cv::Rect(0, 0, canvas.cols, canvas.rows);
  turned(cv::Rect(0, 0, r.width, r.height)).copyTo(canvas(r));
}

void dashed_line(cv::Mat& canvas, cv::Point a, cv::Point b, const cv::Scalar& colour, int thickness) {
  const double len = std::hypot(b.x - a.x, b.y - a.y);
  const int dashes = std::max(1, static_cast<int>(len / 8));
  for (int i = 0; i < dashes; i += 2) {
    const double t0 = static_cast<double>(i) / dashes, t1 = std::min(1.0, static_cast<double>(i + 1) / dashes);
    cv::line(canvas, a + (b - a) * t0, a + (b - a) * t1, colour, thickness, cv::LINE_AA);
  }
}

std::vector<LegendItem> class_legend(const std::vector<ClassInfo>& classes) {
  std::vector<LegendItem> items;
  for (const ClassInfo& c : classes) items.push_back({c.name, bgr(c.color)});
  return items;
}

int legend_height(const std::vector<LegendItem>& items, int width) {
  int lines = items.empty() ? 0 : 1, x = 0;
  for (const LegendItem& item : items) {
    const int w = item_width(item);
    if (x > 0 && x + w > width) {
      ++lines;
      x = 0;
    }
    x += w + kItemGap;
  }
  return lines * kLineHeight;
}

void draw_legend(cv::Mat& canvas, const std::vector<LegendItem>& items, int left, int top, int width) {
  int x = 0, y = top;
  for (const LegendItem& item : items) {
    const int w = item_width(item);
    if (x > 0 && x + w > width) {
      x = 0;
      y += kLineHeight;
    }
    const int cx = left + x, cy = y + kLineHeight / 2;
    if (item.line && item.dashed) {
      dashed_line(canvas, {cx, cy}, {cx + 28, cy}, item.colour, 2);
    } else if (item.line) {
      cv::line(canvas, {cx, cy}, {cx + 28, cy}, item.colour, 2, cv::LINE_AA);
      cv::circle(canvas, {cx + 14, cy}, 3, item.colour, cv::FILLED, cv::LINE_AA);
    } else {
      const cv::Rect sw(cx, cy - kSwatch / 2, kSwatch, kSwatch);
      cv::rectangle(canvas, sw, item.colour, cv::FILLED);
      cv::rectangle(canvas, sw, kInk, 1);  // white or black classes stay visible
    }
    put_text(canvas, item.name, {cx + (item.line ? 28 : kSwatch) + 6, cy + 5});
    x += w + kItemGap;
  }
}

int YAxis::value_y(double v) const {
  const double t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
  return plot.y + plot.height - static_cast<int>(std::lround(t * plot.height));
}

void YAxis::draw(cv::Mat& canvas, const std::string& label, int ticks) const {
  char text[32];
  for (int i = 0; i <= ticks; ++i) {
    const double v = lo + (hi - lo) * i / ticks;
    const int y = value_y(v);
    cv::line(canvas, {plot.x, y}, {plot.x + plot.width, y}, kGrid, 1);
    std::snprintf(text, sizeof text, "%.2f", v);
    put_text(canvas, text, {plot.x - 6 - text_size(text, 0.4).width, y + 4}, 0.4);
  }
  cv::line(canvas, {plot.x, plot.y}, {plot.x, plot.y + plot.height}, kInk, 1);
  cv::line(canvas, {plot.x, plot.y + plot.height}, {plot.x + plot.width, plot.y + plot.height}, kInk, 1);
  put_text_vertical(canvas, label, {plot.x - 52, plot.y + plot.height / 2});
}

}  // namespace i2sbseg::tools
