// SPDX-License-Identifier: MIT
// Segmentation metrics: a confusion matrix (mIoU, pixel accuracy) and the
// boundary F-score of class edges. Truth pixels of kIgnoreIndex
// (<i2sbseg/class_list.h>: unlabelled) count nowhere. Torch-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include <i2sbseg/class_list.h>

namespace i2sbseg {

class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int num_classes);

  int num_classes() const { return k_; }
  // Counts n pixels, leaving out those whose truth is kIgnoreIndex (even
  // with 256 classes); throws Error if a prediction, or a truth other than
  // kIgnoreIndex, is >= num_classes.
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

// 1 for a class-edge pixel: one with a 4-neighbour (inside the map) of
// another label; 0 elsewhere. `labels` is height x width, row-major. With
// `skip_ignored` (a truth map), kIgnoreIndex is no label: its pixels are
// never edges and do not make their neighbours edges.
std::vector<std::uint8_t> class_edges(const std::uint8_t* labels, int height, int width, bool skip_ignored = false);

// Unlabelled truth between two classes (a teacher's band of doubt): each
// kIgnoreIndex pixel within Euclidean distance band_px of a labelled pixel
// takes the label of the nearest one (at equal distance, the one first in
// (dy, dx) order); the rest stay kIgnoreIndex. So a band up to 2 band_px wide
// between classes A and B becomes A on one side and B on the other, meeting
// at its middle, while a wide unlabelled region keeps its inside unlabelled.
// band_px = 0 returns the map unchanged. Throws Error kInvalidOption, field
// "boundary_band", unless 0 <= band_px <= 32.
std::vector<std::uint8_t> fill_unlabelled_bands(const std::uint8_t* truth, int height, int width, double band_px);

// Boundary F-score at a pixel tolerance d (docs/design.md §4). Edge pixels
// as class_edges(), in the prediction and in the truth (skip_ignored) after
// fill_unlabelled_bands(band_px).
// Precision: the share of predicted edge pixels within Euclidean distance d
// of a truth edge pixel; recall: the share of truth edge pixels within d of
// a predicted one; F = 2PR / (P + R). Counts add up over every image added
// (the scores of the totals, not a mean of per-image scores). No predicted
// edge at all: P = 1; no truth edge: R = 1; so F = 1 when neither has an
// edge and 0 when only one has.
// Unlabelled truth (kIgnoreIndex): a band no wider than 2 band_px between
// two classes has its truth edge along its middle (the teachers left the
// boundary unsure, not absent). Where the truth is still unknown after
// that there is no truth edge, and a border between a class and unlabelled
// pixels is none either (it is where labelling stopped, not a class
// boundary). Predicted edge pixels on still-unlabelled truth are not
// counted in the precision (neither as edges nor as matched: nothing says
// whether they are right), but they do match truth edges for the recall
// (the prediction has a boundary there).
class BoundaryScore {
 public:
  static constexpr double kDefaultBand = 4.0;
  BoundaryScore() : BoundaryScore(2.0) {}
  // 0 <= tolerance_px <= 64, else Error kInvalidOption, field
  // "boundary_tolerance"; band_px as fill_unlabelled_bands().
  explicit BoundaryScore(double tolerance_px, double band_px = kDefaultBand);

  double tolerance() const { return tolerance_; }
  double band() const { return band_; }
  // One image's maps (height x width, row-major).
  void add(const std::uint8_t* predicted, const std::uint8_t* truth, int height, int width);
  // Throws Error when the tolerances or the bands differ.
  void merge(const BoundaryScore& other);

  std::int64_t predicted_edges() const { return predicted_edges_; }
  std::int64_t matched_predicted() const { return matched_predicted_; }
  std::int64_t truth_edges() const { return truth_edges_; }
  std::int64_t matched_truth() const { return matched_truth_; }
  double precision() const;
  double recall() const;
  double f_score() const;

 private:
  double tolerance_, band_;
  std::vector<std::pair<int, int>> disc_;  // (dy, dx) within the tolerance, nearest first
  std::int64_t predicted_edges_ = 0, matched_predicted_ = 0, truth_edges_ = 0, matched_truth_ = 0;
};

}  // namespace i2sbseg
