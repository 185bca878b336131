// SPDX-License-Identifier: MIT
#include <i2sbseg/metrics.h>

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
    if (predicted[i] >= k_ || truth[i] >= k_)
      throw Error("confusion matrix: class index " + std::to_string(std::max(predicted[i], truth[i])) +
                  " is beyond the " + std::to_string(k_) + " classes");
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

}  // namespace i2sbseg
