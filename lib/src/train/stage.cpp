// SPDX-License-Identifier: MIT
#include "train/stage.h"

namespace i2sbseg {

const char* stage_name(Stage stage) {
  switch (stage) {
    case Stage::kClassifier: return "classifier";
    case Stage::kBridge: return "bridge";
    case Stage::kFinetune: return "finetune";
    case Stage::kDirect: return "direct";
    case Stage::kLrEncoder: return "lr_encoder";
    case Stage::kEndToEnd: return "end_to_end";
  }
  return "unknown";
}

std::vector<PlannedStage> plan_stages(const TrainOptions& o) {
  std::vector<PlannedStage> stages;
  // A bundle to start from already has its classifier.
  if (o.init.empty()) stages.push_back({Stage::kClassifier, o.classifier_iters});
  // v2's LR encoder is both the direct model and the bridge's z1; a bundle
  // to start from brings it too, trained again only for a direct model.
  if (o.family == ModelFamily::kV2 && (o.init.empty() || o.direct))
    stages.push_back({Stage::kLrEncoder, o.direct_iters});
  if (o.direct) {
    if (o.family != ModelFamily::kV2) stages.push_back({Stage::kDirect, o.direct_iters});
  } else {
    stages.push_back({Stage::kBridge, o.bridge_iters});
    if (o.finetune_iters > 0) stages.push_back({Stage::kFinetune, o.finetune_iters});
    if (o.e2e_iters > 0) stages.push_back({Stage::kEndToEnd, o.e2e_iters});
  }
  return stages;
}

double stage_learning_rate(Stage stage, const TrainOptions& o) {
  switch (stage) {
    case Stage::kClassifier:
    case Stage::kLrEncoder: return o.lr;
    case Stage::kBridge: return o.bridge_lr;
    case Stage::kFinetune:
    case Stage::kDirect: return o.lr * 0.25;
    case Stage::kEndToEnd: return o.bridge_lr * 0.25;  // fine-tuning trained weights: gentler steps
  }
  return o.lr;
}

}  // namespace i2sbseg
