// SPDX-License-Identifier: MIT
#include "charts.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <stdexcept>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace i2sbseg::tools::charts {
namespace {

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr double kSmall = 0.4, kTitle = 0.5;
const cv::Scalar kBlack(0, 0, 0), kWhite(255, 255, 255), kGrid(225, 225, 225), kText(40, 40, 40);
constexpr double kEps = 1e-9;

// One axis in drawing units (log10 of the data on a log axis): its range
// and the ticks, each a position and its label.
struct Axis {
  double lo = 0, hi = 1;
  std::vector<std::pair<double, std::string>> ticks;
};

// A log axis's labels (1, 2 or 5 times a power of ten): 0.01, 20, 5e+06.
std::string tick_label(double v) {
  char buf[32];
  const double a = std::abs(v);
  if (a < 1e6 && a >= 1e-3 && std::abs(v - std::round(v)) < kEps * std::max(1.0, a))
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

// A linear axis's labels: as many decimals as its step needs (0.005 ->
// 1.640, 1.645), so that neighbouring labels differ.
std::string tick_label(double v, double step, double max_abs) {
  char buf[32];
  if (max_abs < 1e6 && step >= 1e-4) {
    const int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(step) - kEps)));
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  } else {
    const int digits = std::clamp(static_cast<int>(std::ceil(std::log10(max_abs / step))) + 1, 1, 10);
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  }
  return buf;
}

// 1, 2 or 5 times a power of ten, at least `raw`.
double nice_step(double raw) {
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  const double m = raw / p;
  return (m <= 1 + kEps ? 1 : m <= 2 + kEps ? 2 : m <= 5 + kEps ? 5 : 10) * p;
}

// The value of the 1-2-5 sequence at or below (down) / above (up) v > 0.
double round_125(double v, bool up) {
  const double p = std::pow(10.0, std::floor(std::log10(v) + kEps));
  const double m = v / p;
  if (up) return (m <= 1 + kEps ? 1 : m <= 2 + kEps ? 2 : m <= 5 + kEps ? 5 : 10) * p;
  return (m >= 5 - kEps ? 5 : m >= 2 - kEps ? 2 : 1) * p;
}

// A flat range (one value, or none) widened so that it has a height.
void widen_flat(double& lo, double& hi, bool log) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = log ? 0.1 : 0, hi = 1;
  if (hi > lo) return;
  hi = lo;
  if (log) lo /= 2, hi *= 2;
  else {
    const double d = lo != 0 ? std::abs(lo) * 0.1 : 1;
    lo -= d, hi += d;
  }
}

Axis linear_axis(double lo, double hi, double fixed_lo, double fixed_hi) {
  if (!std::isnan(fixed_lo)) lo = fixed_lo;
  if (!std::isnan(fixed_hi)) hi = fixed_hi;
  widen_flat(lo, hi, false);
  const double step = nice_step((hi - lo) / 5);
  Axis a;
  a.lo = std::isnan(fixed_lo) ? std::floor(lo / step + kEps) * step : lo;
  a.hi = std::isnan(fixed_hi) ? std::ceil(hi / step - kEps) * step : hi;
  // Integer multiples of the step: a tick at zero is exactly zero.
  const double max_abs = std::max(std::abs(a.lo), std::abs(a.hi));
  for (long k = static_cast<long>(std::ceil(a.lo / step - kEps)); k * step <= a.hi + kEps * step; ++k)
    a.ticks.emplace_back(k * step, tick_label(k * step, step, max_abs));
  return a;
}

// Drawing units are log10(y). Ticks: 1, 2, 5 per decade over up to two
// decades, else the powers of ten (every n-th, at most ~8).
Axis log_axis(double lo, double hi, double fixed_lo, double fixed_hi) {
  if (!std::isnan(fixed_lo) && fixed_lo > 0) lo = fixed_lo;
  if (!std::isnan(fixed_hi) && fixed_hi > 0) hi = fixed_hi;
  widen_flat(lo, hi, true);
  if (std::isnan(fixed_lo)) lo = round_125(lo, false);
  if (std::isnan(fixed_hi)) hi = round_125(hi, true);
  Axis a;
  a.lo = std::log10(lo), a.hi = std::log10(hi);
  const int d0 = static_cast<int>(std::floor(a.lo + kEps)), d1 = static_cast<int>(std::ceil(a.hi - kEps));
  const bool fine = a.hi - a.lo <= 2 + kEps;
  const int every = std::max(1, (d1 - d0 + 7) / 8);
  for (int d = d0; d <= d1; ++d) {
    for (const double m : {1.0, 2.0, 5.0}) {
      if (m != 1 && !fine) continue;
      if (m == 1 && !fine && (d - d0) % every != 0) continue;
      const double v = m * std::pow(10.0, d), t = std::log10(v);
      if (t >= a.lo - kEps && t <= a.hi + kEps) a.ticks.emplace_back(t, tick_label(v));
    }
  }
  return a;
}

// A point in drawing units, and whether it is drawn at all.
using Point = std::pair<bool, cv::Point2d>;

// The points in drawing units; non-finite ones (and y <= 0 on a log axis)
// are marked left out.
std::vector<Point> usable(const Series& s, bool log_y) {
  std::vector<Point> out;
  for (const cv::Point2d& p : s.points) {
    const bool ok = std::isfinite(p.x) && std::isfinite(p.y) && (!log_y || p.y > 0);
    out.emplace_back(ok, ok ? cv::Point2d(p.x, log_y ? std::log10(p.y) : p.y) : p);
  }
  return out;
}

cv::Size text_size(const std::string& t, double scale) {
  int base = 0;
  const cv::Size s = cv::getTextSize(t, kFont, scale, 1, &base);
  return {s.width, s.height + base};
}

void put_text(cv::Mat& img, const std::string& t, cv::Point at, double scale, const cv::Scalar& c = kText) {
  cv::putText(img, t, at, kFont, scale, c, 1, cv::LINE_AA);
}

// The y label, turned a quarter to read bottom to top, centred on `mid_y`.
void put_vertical_text(cv::Mat& img, const std::string& t, int x, int mid_y) {
  const cv::Size s = text_size(t, kSmall);
  cv::Mat strip(s.height + 2, s.width + 2, CV_8UC3, kWhite), turned;
  put_text(strip, t, {1, s.height - 3}, kSmall);
  cv::rotate(strip, turned, cv::ROTATE_90_COUNTERCLOCKWISE);
  const cv::Rect at(x, std::max(0, mid_y - turned.rows / 2), turned.cols, turned.rows);
  const cv::Rect fits = at & cv::Rect(0, 0, img.cols, img.rows);
  turned(cv::Rect(0, 0, fits.width, fits.height)).copyTo(img(fits));
}

// Maps drawing units to pixels of the plot area.
struct Mapper {
  cv::Rect plot;
  Axis x, y;
  cv::Point2d operator()(cv::Point2d p) const {
    const double fx = (p.x - x.lo) / (x.hi - x.lo), fy = (p.y - y.lo) / (y.hi - y.lo);
    // Clamped far outside the picture: keeps integer pixels from overflowing.
    return {plot.x + std::clamp(fx, -100.0, 100.0) * (plot.width - 1),
            plot.y + (1 - std::clamp(fy, -100.0, 100.0)) * (plot.height - 1)};
  }
};

void draw_ticks(cv::Mat& img, const Mapper& m) {
  for (const auto& [t, label] : m.x.ticks) {
    const int px = cvRound(m({t, m.y.lo}).x);
    cv::line(img, {px, m.plot.y}, {px, m.plot.br().y - 1}, kGrid, 1);
    cv::line(img, {px, m.plot.br().y}, {px, m.plot.br().y + 3}, kBlack, 1);
    const cv::Size s = text_size(label, kSmall);
    put_text(img, label, {px - s.width / 2, m.plot.br().y + 5 + s.height}, kSmall);
  }
  for (const auto& [t, label] : m.y.ticks) {
    const int py = cvRound(m({m.x.lo, t}).y);
    cv::line(img, {m.plot.x, py}, {m.plot.br().x - 1, py}, kGrid, 1);
    cv::line(img, {m.plot.x - 4, py}, {m.plot.x - 1, py}, kBlack, 1);
    const cv::Size s = text_size(label, kSmall);
    put_text(img, label, {m.plot.x - 7 - s.width, py + s.height / 2 - 2}, kSmall);
  }
}

// Draws into the plot area's own Mat: OpenCV clips at its edges. A point
// left out breaks the line; a lone point is a dot.
void draw_series(cv::Mat& img, const Mapper& m, const std::vector<Point>& pts, const cv::Scalar& c, int thickness) {
  cv::Mat area = img(m.plot);
  constexpr int kShift = 4;  // sub-pixel positions, for smooth lines
  auto fixed = [&](cv::Point2d p) {
    const cv::Point2d q = m(p) - cv::Point2d(m.plot.tl());
    return cv::Point(cvRound(q.x * (1 << kShift)), cvRound(q.y * (1 << kShift)));
  };
  for (size_t j = 0; j < pts.size(); ++j) {
    if (!pts[j].first) continue;
    const bool prev = j > 0 && pts[j - 1].first, next = j + 1 < pts.size() && pts[j + 1].first;
    if (prev)
      cv::line(area, fixed(pts[j - 1].second), fixed(pts[j].second), c, thickness, cv::LINE_AA, kShift);
    else if (!next)
      cv::circle(area, fixed(pts[j].second), (thickness + 1) << kShift, c, cv::FILLED, cv::LINE_AA, kShift);
  }
}

// The legend's width (0 without named series) and the legend itself.
int legend_width(const std::vector<Series>& series) {
  int w = 0;
  for (const Series& s : series)
    if (!s.name.empty()) w = std::max(w, text_size(s.name, kSmall).width + 34);
  return w;
}

void draw_legend(cv::Mat& img, const std::vector<Series>& series, const std::vector<cv::Scalar>& colors, cv::Point at) {
  int y = at.y + 8;
  for (size_t i = 0; i < series.size(); ++i) {
    if (series[i].name.empty()) continue;
    cv::line(img, {at.x, y}, {at.x + 20, y}, colors[i], 3, cv::LINE_AA);
    put_text(img, series[i].name, {at.x + 26, y + 4}, kSmall);
    y += 18;
  }
}

// The extremes of the usable points, in data units (NaN: none).
void data_range(const std::vector<std::vector<Point>>& all, bool log_y, double r[4]) {
  r[0] = r[2] = std::numeric_limits<double>::infinity();
  r[1] = r[3] = -r[0];
  for (const auto& pts : all)
    for (const auto& [ok, p] : pts) {
      if (!ok) continue;
      const double y = log_y ? std::pow(10.0, p.y) : p.y;
      r[0] = std::min(r[0], p.x), r[1] = std::max(r[1], p.x), r[2] = std::min(r[2], y), r[3] = std::max(r[3], y);
    }
}

}  // namespace

cv::Scalar palette_color(int i) {
  // Matplotlib's "tab10", in BGR.
  static const cv::Scalar colors[] = {{180, 119, 31}, {14, 127, 255}, {44, 160, 44},   {40, 39, 214},
                                      {189, 103, 148}, {75, 86, 140},  {194, 119, 227}, {127, 127, 127},
                                      {34, 189, 188},  {207, 190, 23}};
  return colors[((i % 10) + 10) % 10];
}

cv::Mat draw_line_chart(const std::vector<Series>& series, const ChartOptions& o, cv::Rect* plot_area) {
  std::vector<std::vector<Point>> pts;
  std::vector<cv::Scalar> colors;
  for (size_t i = 0; i < series.size(); ++i) {
    pts.push_back(usable(series[i], o.log_y));
    colors.push_back(series[i].color[0] < 0 ? palette_color(static_cast<int>(i)) : series[i].color);
  }
  double r[4];
  data_range(pts, o.log_y, r);
  Mapper m;
  m.x = linear_axis(r[0], r[1], o.x_min, o.x_max);
  m.y = o.log_y ? log_axis(r[2], r[3], o.y_min, o.y_max) : linear_axis(r[2], r[3], o.y_min, o.y_max);

  // Margins: tick labels and axis labels left and below, the title above,
  // the legend right.
  const int left = 62 + (o.y_label.empty() ? 0 : 18), top = o.title.empty() ? 12 : 30;
  const int bottom = 24 + (o.x_label.empty() ? 0 : 18), legend = legend_width(series);
  // Room for half the last x tick label, which is centred on the right edge.
  const int last_x = m.x.ticks.empty() ? 0 : text_size(m.x.ticks.back().second, kSmall).width / 2 + 4;
  const int right = std::max(14, last_x) + (legend > 0 ? legend + 8 : 0);
  m.plot = cv::Rect(left, top, std::max(8, o.size.width - left - right), std::max(8, o.size.height - top - bottom));
  cv::Mat img(std::max(o.size.height, m.plot.br().y + bottom), std::max(o.size.width, m.plot.br().x + right), CV_8UC3,
              kWhite);

  draw_ticks(img, m);
  for (size_t i = 0; i < pts.size(); ++i) draw_series(img, m, pts[i], colors[i], o.thickness);
  cv::rectangle(img, m.plot.tl() - cv::Point(1, 1), m.plot.br(), kBlack, 1);
  if (!o.title.empty())
    put_text(img, o.title, {m.plot.x + (m.plot.width - text_size(o.title, kTitle).width) / 2, 20}, kTitle, kBlack);
  if (!o.x_label.empty())
    put_text(img, o.x_label, {m.plot.x + (m.plot.width - text_size(o.x_label, kSmall).width) / 2, img.rows - 6},
             kSmall);
  if (!o.y_label.empty()) put_vertical_text(img, o.y_label, 4, m.plot.y + m.plot.height / 2);
  if (legend > 0) draw_legend(img, series, colors, {m.plot.br().x + 12, m.plot.y});
  if (plot_area) *plot_area = m.plot;
  return img;
}

cv::Mat stack_vertically(const std::vector<cv::Mat>& panels) {
  int width = 0;
  for (const cv::Mat& p : panels) width = std::max(width, p.cols);
  std::vector<cv::Mat> padded;
  for (const cv::Mat& p : panels) {
    cv::Mat q = p;
    if (p.cols < width) cv::copyMakeBorder(p, q, 0, 0, 0, width - p.cols, cv::BORDER_CONSTANT, kWhite);
    padded.push_back(q);
  }
  cv::Mat out;
  if (!padded.empty()) cv::vconcat(padded, out);
  return out;
}

void write_png(const cv::Mat& image, const std::string& path) {
  std::string why;
  bool ok = false;
  try {
    ok = !image.empty() && cv::imwrite(path, image);
  } catch (const cv::Exception& e) {
    why = ": " + e.msg;
  }
  if (!ok) throw std::runtime_error("cannot write " + path + why);
}

}  // namespace i2sbseg::tools::charts
