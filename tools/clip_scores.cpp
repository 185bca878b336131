// SPDX-License-Identifier: MIT
#include "clip_scores.h"

#include <cmath>
#include <limits>

#include <i2sbseg/class_list.h>
#include <i2sbseg/error.h>

namespace i2sbseg::tools {

ClipScorer::ClipScorer(int num_classes, double boundary_tolerance_px)
    : confusion_(num_classes), boundary_(boundary_tolerance_px) {}

void ClipScorer::add(const std::vector<std::uint8_t>& predicted, const std::vector<std::uint8_t>* truth, int w,
                     int h) {
  const std::size_t n = static_cast<std::size_t>(w) * static_cast<std::size_t>(h);
  if (predicted.size() != n) throw Error("ClipScorer: a class map is not " + std::to_string(w) + "x" + std::to_string(h));
  if (frames_ > 0 && (truth != nullptr) != labelled_)
    throw Error("ClipScorer: every frame needs truth, or none");
  if (frames_ > 0 && prev_predicted_.size() != n) throw Error("ClipScorer: the frames differ in size");
  if (truth && truth->size() != n) throw Error("ClipScorer: the truth is not the class map's size");
  labelled_ = truth != nullptr;
  if (frames_ > 0) {
    std::size_t changed = 0;
    for (std::size_t p = 0; p < n; ++p) {
      const bool moved = predicted[p] != prev_predicted_[p];
      changed += moved;
      if (truth && (*truth)[p] != kIgnoreIndex && (*truth)[p] == prev_truth_[p]) {
        ++steady_;
        steady_changed_ += moved;
      }
    }
    flicker_sum_ += static_cast<double>(changed) / static_cast<double>(n);
  }
  if (truth) {
    confusion_.add(predicted.data(), truth->data(), n);
    boundary_.add(predicted.data(), truth->data(), h, w);
    prev_truth_ = *truth;
  }
  prev_predicted_ = predicted;
  ++frames_;
}

ClipScores ClipScorer::scores() const {
  if (frames_ < 2) throw Error("ClipScorer: flicker needs 2 frames or more");
  ClipScores s;
  s.frames = frames_;
  s.flicker = flicker_sum_ / (frames_ - 1);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  s.flicker_steady_truth = labelled_ && steady_ > 0 ? static_cast<double>(steady_changed_) / steady_ : nan;
  s.miou = labelled_ ? confusion_.mean_iou() : nan;
  s.pixel_accuracy = labelled_ ? confusion_.pixel_accuracy() : nan;
  s.boundary_f = labelled_ ? boundary_.f_score() : nan;
  if (labelled_) s.class_iou = confusion_.iou();
  return s;
}

}  // namespace i2sbseg::tools
