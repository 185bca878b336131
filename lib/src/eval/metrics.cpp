// SPDX-License-Identifier: MIT
#include <i2sbseg/metrics.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include <i2sbseg/error.h>

namespace i2sbseg {

ConfusionMatrix::ConfusionMatrix(int num_classes) : k_(num_classes) {
  if (num_classes < 1 || num_classes > 256) throw Error("confusion matrix: need 1 to 256 classes");
  counts_.assign(static_cast<std::size_t>(k_) * k_, 0);
}

void ConfusionMatrix::add(const std::uint8_t* predicted, const std::uint8_t* truth, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (truth[i] == kIgnoreIndex && predicted[i] < k_) continue;  // unlabelled: nothing to be right or wrong about
    if (predicted[i] >= k_ || truth[i] >= k_)
      throw Error("confusion matrix: class index " +
                  std::to_string(predicted[i] >= k_ ? predicted[i] : truth[i]) + " is beyond the " +
                  std::to_string(k_) + " classes");
    ++counts_[static_cast<std::size_t>(truth[i]) * k_ + predicted[i]];
  }
}

void ConfusionMatrix::merge(const ConfusionMatrix& other) {
  if (other.k_ != k_) throw Error("confusion matrix: cannot merge different class counts");
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
}

std::int64_t ConfusionMatrix::total() const {
  std::int64_t n = 0;
  for (std::int64_t c : counts_) n += c;
  return n;
}

double ConfusionMatrix::pixel_accuracy() const {
  std::int64_t correct = 0;
  for (int c = 0; c < k_; ++c) correct += at(c, c);
  const std::int64_t n = total();
  return n ? static_cast<double>(correct) / n : 0.0;
}

std::vector<double> ConfusionMatrix::iou() const {
  std::vector<double> out(k_);
  for (int c = 0; c < k_; ++c) {
    std::int64_t row = 0, col = 0;
    for (int j = 0; j < k_; ++j) {
      row += at(c, j);  // all pixels whose truth is c
      col += at(j, c);  // all pixels predicted as c
    }
    const std::int64_t uni = row + col - at(c, c);
    out[c] = uni ? static_cast<double>(at(c, c)) / uni : std::numeric_limits<double>::quiet_NaN();
  }
  return out;
}

double ConfusionMatrix::mean_iou() const {
  double sum = 0;
  int n = 0;
  for (double v : iou())
    if (!std::isnan(v)) {
      sum += v;
      ++n;
    }
  return n ? sum / n : 0.0;
}

std::vector<std::uint8_t> class_edges(const std::uint8_t* l, int height, int width, bool skip_ignored) {
  if (height < 0 || width < 0) throw Error("class edges: negative size");
  std::vector<std::uint8_t> e(static_cast<std::size_t>(height) * width, 0);
  // Another label at j; with skip_ignored, kIgnoreIndex is none.
  auto other = [&](std::size_t j, std::uint8_t v) { return l[j] != v && !(skip_ignored && l[j] == kIgnoreIndex); };
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const std::size_t i = static_cast<std::size_t>(y) * width + x;
      const std::uint8_t v = l[i];
      if (skip_ignored && v == kIgnoreIndex) continue;
      e[i] = (x > 0 && other(i - 1, v)) || (x + 1 < width && other(i + 1, v)) || (y > 0 && other(i - width, v)) ||
             (y + 1 < height && other(i + width, v));
    }
  return e;
}

namespace {

// The edge pixels of `from`, and how many of them have an edge pixel of `to`
// at one of the disc's offsets.
std::pair<std::int64_t, std::int64_t> match_edges(const std::vector<std::uint8_t>& from,
                                                  const std::vector<std::uint8_t>& to, int height, int width,
                                                  const std::vector<std::pair<int, int>>& disc) {
  std::int64_t edges = 0, matched = 0;
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      if (!from[static_cast<std::size_t>(y) * width + x]) continue;
      ++edges;
      for (const auto& [dy, dx] : disc) {
        const int yy = y + dy, xx = x + dx;
        if (yy >= 0 && yy < height && xx >= 0 && xx < width && to[static_cast<std::size_t>(yy) * width + xx]) {
          ++matched;
          break;
        }
      }
    }
  return {edges, matched};
}

// The (dy, dx) within Euclidean distance r, in (distance, dy, dx) order.
std::vector<std::pair<int, int>> disc_offsets(double r) {
  const int n = static_cast<int>(std::floor(r));
  const double limit = r * r + 1e-9;  // 2.0 px includes (0, 2), not (1, 2)
  std::vector<std::pair<int, int>> disc;
  for (int dy = -n; dy <= n; ++dy)
    for (int dx = -n; dx <= n; ++dx)
      if (dy * dy + dx * dx <= limit) disc.emplace_back(dy, dx);
  std::stable_sort(disc.begin(), disc.end(), [](const auto& a, const auto& b) {
    return a.first * a.first + a.second * a.second < b.first * b.first + b.second * b.second;
  });
  return disc;
}

void check_band(double band_px) {
  if (!(band_px >= 0 && band_px <= 32))
    throw Error(ErrorKind::kInvalidOption,
                "boundary band " + std::to_string(band_px) + " px is not between 0 and 32", "boundary_band");
}

}  // namespace

std::vector<std::uint8_t> fill_unlabelled_bands(const std::uint8_t* truth, int height, int width, double band_px) {
  check_band(band_px);
  if (height < 0 || width < 0) throw Error("unlabelled bands: negative size");
  std::vector<std::uint8_t> out(truth, truth + static_cast<std::size_t>(height) * width);
  if (band_px == 0) return out;
  const std::vector<std::pair<int, int>> disc = disc_offsets(band_px);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const std::size_t i = static_cast<std::size_t>(y) * width + x;
      if (truth[i] != kIgnoreIndex) continue;
      for (const auto& [dy, dx] : disc) {  // nearest first: the first labelled pixel is the nearest
        const int yy = y + dy, xx = x + dx;
        if (yy < 0 || yy >= height || xx < 0 || xx >= width) continue;
        const std::uint8_t v = truth[static_cast<std::size_t>(yy) * width + xx];
        if (v != kIgnoreIndex) {
          out[i] = v;
          break;
        }
      }
    }
  return out;
}

BoundaryScore::BoundaryScore(double tolerance_px, double band_px) : tolerance_(tolerance_px), band_(band_px) {
  if (!(tolerance_px >= 0 && tolerance_px <= 64))
    throw Error(ErrorKind::kInvalidOption,
                "boundary tolerance " + std::to_string(tolerance_px) + " px is not between 0 and 64",
                "boundary_tolerance");
  check_band(band_px);
  disc_ = disc_offsets(tolerance_px);
}

// Unlabelled truth pixels (metrics.h): narrow bands filled from both sides;
// no truth edges on what stays unlabelled or against it; predicted edges
// there match truth edges but are not scored.
void BoundaryScore::add(const std::uint8_t* predicted, const std::uint8_t* truth, int height, int width) {
  const std::vector<std::uint8_t> filled = fill_unlabelled_bands(truth, height, width, band_);
  const std::vector<std::uint8_t> p = class_edges(predicted, height, width),
                                  t = class_edges(filled.data(), height, width, true);
  std::vector<std::uint8_t> scored = p;
  for (std::size_t i = 0; i < scored.size(); ++i)
    if (filled[i] == kIgnoreIndex) scored[i] = 0;
  const auto [pe, pm] = match_edges(scored, t, height, width, disc_);
  const auto [te, tm] = match_edges(t, p, height, width, disc_);
  predicted_edges_ += pe;
  matched_predicted_ += pm;
  truth_edges_ += te;
  matched_truth_ += tm;
}

void BoundaryScore::merge(const BoundaryScore& o) {
  if (o.tolerance_ != tolerance_ || o.band_ != band_)
    throw Error("boundary score: cannot merge different tolerances or bands");
  predicted_edges_ += o.predicted_edges_;
  matched_predicted_ += o.matched_predicted_;
  truth_edges_ += o.truth_edges_;
  matched_truth_ += o.matched_truth_;
}

double BoundaryScore::precision() const {
  return predicted_edges_ ? static_cast<double>(matched_predicted_) / predicted_edges_ : 1.0;
}

double BoundaryScore::recall() const {
  return truth_edges_ ? static_cast<double>(matched_truth_) / truth_edges_ : 1.0;
}

double BoundaryScore::f_score() const {
  const double p = precision(), r = recall();
  return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

}  // namespace i2sbseg
