// SPDX-License-Identifier: MIT
// Evaluation on whole images (docs/design.md §4): the classifier on HR input (upper
// bound), on LR-up input (baseline), the oracle (decoder on the true HR
// latent), the bridge at several NFE (and, with mean_samples, at several NFE
// averaged over K samples), and optionally a second model; how much each
// bridge row leads the baseline and the LR path, with a bootstrap interval.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <i2sbseg/bootstrap.h>
#include <i2sbseg/dataset.h>
#include <i2sbseg/metrics.h>
#include <i2sbseg/model.h>

namespace i2sbseg {

struct EvalRow {
  ConfusionMatrix confusion{2};
  BoundaryScore boundary{2.0};  // class edges at HR resolution, EvalOptions::boundary_tolerance
  double ms_per_image = 0;
  // mIoU of this row's prediction against the classifier's HR prediction
  // (how well the bridge alone reproduces HR; -1 when not measured).
  double agreement_with_hr = -1;
  // The same counts image by image, for the paired bootstrap (EvalLead).
  ImageCounts per_image{2};
};

// Bridge row `nfe` minus row `over` ("baseline" or "classifier_lr", the
// LR path without a bridge) in mIoU, on the same images.
struct EvalLead {
  int nfe = 0;
  std::string over;
  MiouDifference miou;
};

struct EvalOptions {
  std::vector<int> nfes{1, 2, 4, 10};
  bool ot_ode = false;
  std::uint64_t seed = 1;
  // Pixel tolerance of the boundary F-score (BoundaryScore), 0 to 64.
  double boundary_tolerance = 2.0;
  // Unlabelled truth bands up to twice this wide between classes have
  // their truth edge in the middle (fill_unlabelled_bands), 0 to 32.
  double boundary_band = BoundaryScore::kDefaultBand;
  // K >= 1: also a row per NFE whose prediction is the argmax of the class
  // probabilities (softmax of the logits) averaged over K bridge samples:
  // the plain row's own sample and K - 1 more, drawn from a generator of
  // their own seeded with mean_samples_seed(bridge_row_seed(seed, nfe)) (so
  // K = 1 is the plain row, and the plain rows do not depend on K; its
  // ms/image counts all K).
  // 0: no such rows. At most 1000.
  int mean_samples = 0;
  int max_images = 0;  // 0: all
  // Paired bootstrap resamples of the images for EvalReport::leads (0: no
  // leads), drawn from std::mt19937_64 seeded with `seed`; 0 to 100000.
  int bootstrap = 1000;
  // Called after each image with (done, total); may be empty.
  std::function<void(int, int)> progress;
};

struct EvalReport {
  std::vector<ClassInfo> classes;
  int images = 0;
  EvalRow classifier_hr, classifier_lr, oracle;
  std::map<int, EvalRow> bridge;  // keyed by NFE; empty for a model without a bridge
  int mean_samples = 0;               // EvalOptions::mean_samples
  std::map<int, EvalRow> bridge_mean;  // keyed by NFE; empty when mean_samples is 0 or there is no bridge
  double boundary_tolerance = 2.0;
  double boundary_band = BoundaryScore::kDefaultBand;
  bool has_baseline = false;
  EvalRow baseline;
  // Each bridge row over the baseline (when there is one), then each over
  // classifier_lr; empty when EvalOptions::bootstrap is 0.
  std::vector<EvalLead> leads;
  std::uint64_t bootstrap_seed = 1;

  // Rows classifier_hr, classifier_lr, oracle, bridge {NFE: row},
  // bridge_mean {NFE: row} with samples (when mean_samples > 0), baseline;
  // each row: miou, pixel_acc, boundary_f, boundary_precision,
  // boundary_recall, per_class_iou, ms_per_image (agreement_with_hr);
  // leads [{row "bridge", nfe, over, miou_diff, ci95 [lo, hi], resamples,
  // seed}] when there are any.
  std::string to_json() const;
  // The table, its header naming the boundary F's definition and tolerance,
  // then a line per lead.
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

// The seed of the generator that draws the bridge row of `nfe` steps: each
// row has its own, so a row's samples do not depend on which other NFEs
// were asked for (image by image, in order).
std::uint64_t bridge_row_seed(std::uint64_t seed, int nfe);
// The seed of the generator that draws an averaged row's extra samples,
// from its plain row's seed.
std::uint64_t mean_samples_seed(std::uint64_t seed);

// Class probabilities (N, K, s*h, s*w) of an LR image averaged over
// `samples` bridge samples (softmax of each sample's logits), drawn one
// after another with `options` (its generator advances); the argmax is the
// averaged rows' prediction. A model without a bridge: the softmax of
// classify_lr.
torch::Tensor mean_bridge_probabilities(Model& model, const torch::Tensor& lr01, int samples,
                                        const SampleOptions& options);

}  // namespace i2sbseg
