// SPDX-License-Identifier: MIT
// Segmentation metrics from a confusion matrix. Torch-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace i2sbseg {

class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int num_classes);

  int num_classes() const { return k_; }
  // Counts n pixels; throws Error if an index is >= num_classes.
  void add(const std::uint8_t* predicted, const std::uint8_t* truth, std::size_t n);
  void merge(const ConfusionMatrix& other);
  // Pixels of class `truth` predicted as `predicted`.
  std::int64_t at(int truth, int predicted) const { return counts_[static_cast<std::size_t>(truth) * k_ + predicted]; }
  std::int64_t total() const;

  double pixel_accuracy() const;
  // IoU per class: TP / (TP + FP + FN); NaN for a class absent from both
  // prediction and truth.
  std::vector<double> iou() const;
  // Mean IoU over the classes that are present (IoU not NaN).
  double mean_iou() const;

 private:
  int k_;
  std::vector<std::int64_t> counts_;
};

}  // namespace i2sbseg
