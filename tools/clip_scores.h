// SPDX-License-Identifier: MIT
// Scores of one model's class maps over a clip, frame after frame: flicker
// (the mean share of pixels whose class changes from one frame to the
// next) and, with ground truth, mIoU, pixel accuracy, boundary F and the
// flicker where the truth holds still (changes of prediction at pixels whose
// true class did not change, over all such pixels of all consecutive pairs;
// unlabelled truth, kIgnoreIndex, counts in neither). Torch-free.
#pragma once

#include <cstdint>
#include <vector>

#include <i2sbseg/metrics.h>

namespace i2sbseg::tools {

struct ClipScores {
  int frames = 0;
  double flicker = 0;
  // With truth only (NaN without): scores over all frames' pixels.
  double flicker_steady_truth = 0, miou = 0, pixel_accuracy = 0, boundary_f = 0;
  std::vector<double> class_iou;  // with truth: per class, NaN where absent from both
};

class ClipScorer {
 public:
  explicit ClipScorer(int num_classes, double boundary_tolerance_px = 2.0);
  // One frame's w x h class map and, if labelled, its truth of the same size
  // (every frame labelled, or none).
  void add(const std::vector<std::uint8_t>& predicted, const std::vector<std::uint8_t>* truth, int w, int h);
  // Needs 2 frames or more.
  ClipScores scores() const;

 private:
  ConfusionMatrix confusion_;
  BoundaryScore boundary_;
  std::vector<std::uint8_t> prev_predicted_, prev_truth_;
  int frames_ = 0;
  bool labelled_ = false;
  double flicker_sum_ = 0;
  std::int64_t steady_ = 0, steady_changed_ = 0;
};

}  // namespace i2sbseg::tools
