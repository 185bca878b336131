// SPDX-License-Identifier: MIT
// The training stages (docs/design.md §4) and the plan of stages a run's
// options make. Torch-free: what each stage trains and its loss live in
// stage_steps.h.
#pragma once

#include <string>
#include <vector>

#include <i2sbseg/trainer.h>

namespace i2sbseg {

enum class Stage {
  kClassifier,  // encoder + decoder on HR crops
  kBridge,      // the bridge network on (E(HR), E(LR-up)); encoder frozen
  kFinetune,    // the decoder on bridged latents
  kDirect,      // encoder + decoder on LR-up input: the baseline
  kLrEncoder,   // v2: the LR encoder against the frozen decoder (the direct model)
  kEndToEnd,    // bridge + decoder on the segmentation loss through the sampler
};

// The name logs, progress lines and messages use ("classifier", "bridge",
// "finetune", "direct", "lr_encoder", "end_to_end"); logs of earlier versions carry the
// same names.
const char* stage_name(Stage stage);

struct PlannedStage {
  Stage stage;
  int iters;
};

// The stages a run goes through, in order. Checkpoints record the index in
// this list, so the same options always make the same list.
std::vector<PlannedStage> plan_stages(const TrainOptions& o);

// The stage's base learning rate (cosine-decayed over the stage).
double stage_learning_rate(Stage stage, const TrainOptions& o);

// The bridge stage updates an EMA of the bridge's weights (the bundle gets
// the EMA); it exists from the bridge stage on, so checkpoints of these
// stages carry it.
inline bool updates_bridge_ema(Stage stage) { return stage == Stage::kBridge; }
// The end-to-end stage starts from the EMA weights and trains them as
// they are (its few iterations would barely move an EMA).
inline bool has_bridge_ema(Stage stage) { return stage == Stage::kBridge || stage == Stage::kFinetune; }
// With TrainOptions::classifier_ema, the stages that train an encoder (and
// the classifier's decoder) average those weights over the stage.
inline bool has_network_ema(Stage stage) {
  return stage == Stage::kClassifier || stage == Stage::kLrEncoder || stage == Stage::kDirect;
}

}  // namespace i2sbseg
