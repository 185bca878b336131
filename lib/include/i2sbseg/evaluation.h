// SPDX-License-Identifier: MIT
// Evaluation on whole images (docs/design.md §4): the classifier on HR input (upper
// bound), on LR-up input (baseline), the oracle (decoder on the true HR
// latent), the bridge at several NFE, and optionally a second model.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <i2sbseg/dataset.h>
#include <i2sbseg/metrics.h>
#include <i2sbseg/model.h>

namespace i2sbseg {

struct EvalRow {
  ConfusionMatrix confusion{2};
  double ms_per_image = 0;
  // mIoU of this row's prediction against the classifier's HR prediction
  // (how well the bridge alone reproduces HR; -1 when not measured).
  double agreement_with_hr = -1;
};

struct EvalOptions {
  std::vector<int> nfes{1, 2, 4, 10};
  bool ot_ode = false;
  std::uint64_t seed = 1;
  int max_images = 0;  // 0: all
  // Called after each image with (done, total); may be empty.
  std::function<void(int, int)> progress;
};

struct EvalReport {
  std::vector<ClassInfo> classes;
  int images = 0;
  EvalRow classifier_hr, classifier_lr, oracle;
  std::map<int, EvalRow> bridge;  // keyed by NFE; empty for a model without a bridge
  bool has_baseline = false;
  EvalRow baseline;

  std::string to_json() const;
  std::string to_table() const;
  // Writes to_json() to `path` atomically (a reader never sees half a
  // report); throws Error (kWriteFailed) naming the path.
  void save_json(const std::string& path) const;
};

// `baseline` may be null. Images are cropped to a multiple of the scale
// factor; the LR input is their area downscale. The dataset's classes (and
// the baseline's) must be the model's, by name and in order: otherwise
// Error kInvalidOption with field "data" (or "baseline") naming both lists.
EvalReport evaluate(Model& model, const Dataset& data, const EvalOptions& options, Model* baseline = nullptr);

}  // namespace i2sbseg
