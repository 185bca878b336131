// SPDX-License-Identifier: MIT
// `eval --report`'s charts: class_iou.png and nfe.png.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <utility>

#include <opencv2/imgproc.hpp>

#include "eval_report.h"
#include "eval_report_draw.h"

namespace i2sbseg::tools {
namespace {

struct NamedRow {
  std::string name;
  const EvalRow* row;
};

// The report's rows in table order, with short names (ASCII: the charts'
// font has no "×").
std::vector<NamedRow> report_rows(const EvalReport& r) {
  std::vector<NamedRow> rows{{"HR", &r.classifier_hr}, {"LR-up", &r.classifier_lr}, {"oracle", &r.oracle}};
  for (const auto& [nfe, row] : r.bridge) rows.push_back({"NFE " + std::to_string(nfe), &row});
  for (const auto& [nfe, row] : r.bridge_mean)
    rows.push_back({"NFE " + std::to_string(nfe) + " x" + std::to_string(r.mean_samples), &row});
  if (r.has_baseline) rows.push_back({"baseline", &r.baseline});
  return rows;
}

// One group of bars (a row's per-class IoU) with its name underneath.
void draw_bar_group(cv::Mat& canvas, const YAxis& axis, int left, int width, const NamedRow& row,
                    const std::vector<ClassInfo>& classes, int bar) {
  const std::vector<double> iou = row.row->confusion.iou();
  const int k = static_cast<int>(classes.size());
  const int x0 = left + (width - k * bar) / 2, y0 = axis.value_y(0);
  for (int c = 0; c < k && c < static_cast<int>(iou.size()); ++c) {
    const int x = x0 + c * bar;
    if (std::isnan(iou[c])) {  // class absent from prediction and truth
      cv::line(canvas, {x + 2, y0 - 4}, {x + bar - 3, y0 - 4}, kGrid, 1);
      continue;
    }
    const cv::Rect r(x, axis.value_y(iou[c]), bar - 1, std::max(1, y0 - axis.value_y(iou[c])));
    cv::rectangle(canvas, r, bgr(classes[c].color), cv::FILLED);
    cv::rectangle(canvas, r, kInk, 1);
  }
  put_text_centred(canvas, row.name, left + width / 2, y0 + 18, 0.4);
}

// Lowest and highest value of `values`, widened to steps of 0.05 (0.1 when
// more than 0.5 apart) and at least 0.1 apart, within [0, 1].
std::pair<double, double> value_range(const std::vector<double>& values) {
  double lo = 1, hi = 0;
  for (double v : values) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (lo > hi) return {0, 1};
  lo = std::max(0.0, std::floor(lo * 20 - 1) / 20);
  hi = std::min(1.0, std::ceil(hi * 20 + 1) / 20);
  if (hi - lo > 0.5 + 1e-9) {  // wide: steps of 0.1, at most 10 ticks
    lo = std::floor(lo * 10 + 1e-9) / 10;
    hi = std::ceil(hi * 10 - 1e-9) / 10;
  }
  if (hi - lo < 0.1) {
    if (lo + 0.1 <= 1)
      hi = lo + 0.1;
    else
      lo = hi - 0.1;
  }
  return {lo, hi};
}

using Metric = double (*)(const EvalRow&);
double miou_of(const EvalRow& r) { return r.confusion.mean_iou(); }
double boundary_f_of(const EvalRow& r) { return r.boundary.f_score(); }

const cv::Scalar kBridge(200, 110, 30), kMean(30, 140, 250), kHr(60, 160, 40), kLr(140, 140, 140), kBase(50, 50, 210);

// The reference rows drawn across a panel.
std::vector<std::pair<LegendItem, const EvalRow*>> reference_rows(const EvalReport& r) {
  std::vector<std::pair<LegendItem, const EvalRow*>> refs{{{"classifier on HR", kHr, true, true}, &r.classifier_hr},
                                                          {{"classifier on LR-up", kLr, true, true}, &r.classifier_lr}};
  if (r.has_baseline) refs.push_back({{"baseline model", kBase, true, true}, &r.baseline});
  return refs;
}

// The x position of an NFE on a log scale over the report's NFEs.
struct NfeAxis {
  double lo = 0, hi = 1;  // log2 NFE at the plot's edges
  cv::Rect plot;
  int x(int nfe) const { return plot.x + static_cast<int>(std::lround((std::log2(nfe) - lo) / (hi - lo) * plot.width)); }
};

NfeAxis nfe_axis(const EvalReport& r, const cv::Rect& plot) {
  NfeAxis a;
  a.plot = plot;
  const double first = r.bridge.empty() ? 1 : r.bridge.begin()->first;
  const double last = r.bridge.empty() ? 10 : r.bridge.rbegin()->first;
  a.lo = std::log2(first) - 0.4;
  a.hi = std::log2(last) + 0.4;
  return a;
}

// A polyline with markers through (NFE, metric) of `rows`.
void draw_series(cv::Mat& canvas, const NfeAxis& xs, const YAxis& ys, const std::map<int, EvalRow>& rows, Metric m,
                 const cv::Scalar& colour) {
  cv::Point last(-1, -1);
  for (const auto& [nfe, row] : rows) {
    const cv::Point p(xs.x(nfe), ys.value_y(m(row)));
    if (last.x >= 0) cv::line(canvas, last, p, colour, 2, cv::LINE_AA);
    cv::circle(canvas, p, 4, colour, cv::FILLED, cv::LINE_AA);
    last = p;
  }
}

// One panel of nfe.png: a metric against NFE.
void draw_nfe_panel(cv::Mat& canvas, const cv::Rect& plot, const EvalReport& r, Metric m, const std::string& label) {
  std::vector<double> values;
  for (const auto& [nfe, row] : r.bridge) values.push_back(m(row));
  for (const auto& [nfe, row] : r.bridge_mean) values.push_back(m(row));
  const auto refs = reference_rows(r);
  for (const auto& ref : refs) values.push_back(m(*ref.second));
  const auto [lo, hi] = value_range(values);
  const YAxis ys{lo, hi, plot};
  // Ticks at round steps: the range is a multiple of 0.05, or of 0.1 when wide.
  const int twentieths = static_cast<int>(std::lround((hi - lo) * 20));
  ys.draw(canvas, label, twentieths <= 10 ? twentieths : static_cast<int>(std::lround((hi - lo) * 10)));
  const NfeAxis xs = nfe_axis(r, plot);
  for (const auto& [nfe, row] : r.bridge) {
    cv::line(canvas, {xs.x(nfe), plot.y + plot.height}, {xs.x(nfe), plot.y + plot.height + 4}, kInk, 1);
    put_text_centred(canvas, std::to_string(nfe), xs.x(nfe), plot.y + plot.height + 18, 0.4);
  }
  put_text_centred(canvas, "NFE (bridge steps, log scale)", plot.x + plot.width / 2, plot.y + plot.height + 40);
  for (const auto& [item, row] : refs) {
    const int y = ys.value_y(m(*row));
    dashed_line(canvas, {plot.x, y}, {plot.x + plot.width, y}, item.colour, 2);
  }
  if (r.bridge.empty())
    put_text_centred(canvas, "no bridge rows (a model without a bridge)", plot.x + plot.width / 2, plot.y + 20);
  draw_series(canvas, xs, ys, r.bridge, m, kBridge);
  draw_series(canvas, xs, ys, r.bridge_mean, m, kMean);
  put_text_centred(canvas, label + " against NFE", plot.x + plot.width / 2, plot.y - 12, 0.5);
}

}  // namespace

cv::Mat draw_class_iou(const EvalReport& report, const std::vector<ClassInfo>& classes) {
  const std::vector<NamedRow> rows = report_rows(report);
  const int bar = 12, k = static_cast<int>(classes.size());
  int group = k * bar;
  for (const NamedRow& r : rows) group = std::max(group, text_size(r.name, 0.4).width);
  group += 16;
  const cv::Rect plot(80, 50, group * static_cast<int>(rows.size()), 300);
  const int width = std::max(plot.x + plot.width + 20, 480);
  const std::vector<LegendItem> legend = class_legend(classes);
  const int legend_top = plot.y + plot.height + 36;
  cv::Mat canvas(legend_top + legend_height(legend, width - 40) + 16, width, CV_8UC3, kWhite);
  const YAxis axis{0, 1, plot};
  axis.draw(canvas, "IoU");
  for (size_t g = 0; g < rows.size(); ++g)
    draw_bar_group(canvas, axis, plot.x + static_cast<int>(g) * group, group, rows[g], classes, bar);
  put_text_centred(canvas, "Per-class IoU of each row (" + std::to_string(report.images) + " images)",
                   width / 2, 28, 0.55);
  draw_legend(canvas, legend, 20, legend_top, width - 40);
  return canvas;
}

cv::Mat draw_nfe_chart(const EvalReport& report) {
  const int panel_w = 440, panel_h = 300, left = 90, top = 50;
  const int width = 2 * (left + panel_w) + 30;
  std::vector<LegendItem> legend;
  if (!report.bridge.empty()) legend.push_back({"bridge", kBridge, true});
  if (!report.bridge_mean.empty())
    legend.push_back({"bridge, mean of " + std::to_string(report.mean_samples) + " samples", kMean, true});
  for (const auto& ref : reference_rows(report)) legend.push_back(ref.first);
  const int legend_top = top + panel_h + 56;
  cv::Mat canvas(legend_top + legend_height(legend, width - 40) + 16, width, CV_8UC3, kWhite);
  char tol[32];
  std::snprintf(tol, sizeof tol, "%g", report.boundary_tolerance);
  draw_nfe_panel(canvas, {left, top, panel_w, panel_h}, report, miou_of, "mIoU");
  draw_nfe_panel(canvas, {2 * left + panel_w + 10, top, panel_w, panel_h}, report, boundary_f_of,
                 std::string("boundary F (") + tol + " px)");
  draw_legend(canvas, legend, 20, legend_top, width - 40);
  return canvas;
}

}  // namespace i2sbseg::tools
