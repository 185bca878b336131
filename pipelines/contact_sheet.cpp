// SPDX-License-Identifier: MIT
// contact_sheet: tiles sampled input / overlay frame pairs into one PNG.
//
//   contact_sheet --input-pattern DIR/input_%05d.png --overlay-pattern DIR/overlay_%05d.png
//                 --count N --samples K --out sheet.png [--title TEXT] [--model BUNDLE]
//
// Frame i of both patterns (0 <= i < N) forms a pair; K evenly spaced pairs
// become rows: the low-resolution input enlarged (nearest neighbour, so its
// real resolution stays visible) to the overlay's size, then the overlay.
// With --model, a legend strip under the rows: each class name of that
// bundle beside a swatch of its overlay colour.
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include <i2sbseg/bundle.h>
#include <i2sbseg/config.h>

namespace {

std::string format_path(const std::string& pattern, int index) {
  std::vector<char> buf(pattern.size() + 32);
  std::snprintf(buf.data(), buf.size(), pattern.c_str(), index);
  return buf.data();
}

void label(cv::Mat& img, const std::string& text) {
  const double scale = std::max(0.4, img.cols / 700.0);
  int base = 0;
  const cv::Size sz = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &base);
  cv::rectangle(img, {0, 0}, {sz.width + 8, sz.height + base + 8}, cv::Scalar(0, 0, 0), cv::FILLED);
  cv::putText(img, text, {4, sz.height + 4}, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(255, 255, 255), 1,
              cv::LINE_AA);
}

// The bundle's classes, through the library's Torch-free bundle reader:
// the same names and colours the element draws with.
std::vector<i2sbseg::ClassInfo> read_classes(const std::string& bundle) {
  return i2sbseg::ModelConfig::from_json(i2sbseg::read_bundle_file(bundle).config_json).classes;
}

// Rows of "[swatch] name" entries, as many per row as fit in `width`. The
// swatches are framed so that black (background) and white show on the strip.
cv::Mat legend_strip(const std::vector<i2sbseg::ClassInfo>& classes, int width) {
  constexpr int kRow = 24, kSwatch = 14, kPad = 8;
  constexpr double kScale = 0.45;
  std::vector<std::pair<cv::Point, size_t>> at;  // each entry's top left and class
  int x = kPad, y = 0;
  for (size_t i = 0; i < classes.size(); ++i) {
    int base = 0;
    const int w = kSwatch + 6 + cv::getTextSize(classes[i].name, cv::FONT_HERSHEY_SIMPLEX, kScale, 1, &base).width;
    if (x > kPad && x + w > width - kPad) x = kPad, y += kRow;
    at.push_back({{x, y}, i});
    x += w + 18;
  }
  cv::Mat strip(y + kRow + 4, width, CV_8UC3, cv::Scalar(40, 40, 40));
  for (const auto& [p, i] : at) {
    const auto& c = classes[i].color;  // RGB; OpenCV draws BGR
    const cv::Rect sw(p.x, p.y + 5, kSwatch, kSwatch);
    cv::rectangle(strip, sw, cv::Scalar(c[2], c[1], c[0]), cv::FILLED);
    cv::rectangle(strip, sw - cv::Point(1, 1) + cv::Size(2, 2), cv::Scalar(200, 200, 200), 1);
    cv::putText(strip, classes[i].name, {p.x + kSwatch + 6, p.y + 17}, cv::FONT_HERSHEY_SIMPLEX, kScale,
                cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
  }
  return strip;
}

int fail(const std::string& what) {
  std::fprintf(stderr, "contact_sheet: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string in_pat, ov_pat, out, title, model;
  int count = 0, samples = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "-h" || a == "--help") {
      std::printf("usage: %s --input-pattern P --overlay-pattern P --count N [--samples K] --out FILE.png "
                  "[--title TEXT] [--model BUNDLE (legend of its classes)]\n",
                  argv[0]);
      return 0;
    }
    if (!v) return fail("missing value after " + a);
    ++i;
    if (a == "--input-pattern") in_pat = v;
    else if (a == "--overlay-pattern") ov_pat = v;
    else if (a == "--count") count = std::atoi(v);
    else if (a == "--samples") samples = std::atoi(v);
    else if (a == "--out") out = v;
    else if (a == "--title") title = v;
    else if (a == "--model") model = v;
    else return fail("unknown option " + a);
  }
  if (in_pat.empty() || ov_pat.empty() || out.empty() || count <= 0 || samples <= 0)
    return fail("needs --input-pattern, --overlay-pattern, --count N > 0 and --out (see --help)");
  samples = std::min(samples, count);
  std::vector<i2sbseg::ClassInfo> classes;
  try {
    if (!model.empty()) classes = read_classes(model);
  } catch (const std::exception& e) {
    return fail(std::string("legend: ") + e.what());
  }

  std::vector<cv::Mat> rows;
  for (int s = 0; s < samples; ++s) {
    // Evenly spaced, first and last frame included when samples > 1.
    const int idx = samples == 1 ? 0 : static_cast<int>((static_cast<long>(count - 1) * s) / (samples - 1));
    const std::string in_path = format_path(in_pat, idx), ov_path = format_path(ov_pat, idx);
    cv::Mat in = cv::imread(in_path, cv::IMREAD_COLOR), ov = cv::imread(ov_path, cv::IMREAD_COLOR);
    if (in.empty()) return fail("cannot read " + in_path);
    if (ov.empty()) return fail("cannot read " + ov_path);
    cv::Mat big;
    cv::resize(in, big, ov.size(), 0, 0, cv::INTER_NEAREST);
    label(big, "frame " + std::to_string(idx) + ": input " + std::to_string(in.cols) + "x" +
                   std::to_string(in.rows));
    label(ov, "i2sbseg overlay " + std::to_string(ov.cols) + "x" + std::to_string(ov.rows));
    cv::Mat row;
    cv::hconcat(std::vector<cv::Mat>{big, cv::Mat(ov.rows, 4, CV_8UC3, cv::Scalar(255, 255, 255)), ov}, row);
    if (!rows.empty() && row.cols != rows.front().cols) return fail("frames differ in size: " + ov_path);
    rows.push_back(row);
    rows.push_back(cv::Mat(4, row.cols, CV_8UC3, cv::Scalar(255, 255, 255)));
  }
  rows.pop_back();
  cv::Mat sheet;
  cv::vconcat(rows, sheet);
  if (!title.empty()) {
    cv::Mat head(28, sheet.cols, CV_8UC3, cv::Scalar(40, 40, 40));
    cv::putText(head, title, {6, 19}, cv::FONT_HERSHEY_SIMPLEX, 0.5, cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
    cv::vconcat(std::vector<cv::Mat>{head, sheet}, sheet);
  }
  if (!classes.empty()) cv::vconcat(std::vector<cv::Mat>{sheet, legend_strip(classes, sheet.cols)}, sheet);
  if (!cv::imwrite(out, sheet)) return fail("cannot write " + out);
  std::printf("contact_sheet: %d frame pairs -> %s (%dx%d)\n", samples, out.c_str(), sheet.cols, sheet.rows);
  return 0;
}
