// SPDX-License-Identifier: MIT
// The classes the dataset keeps and the train/val pools of cutouts and
// backgrounds: validation images use only cutouts and backgrounds that
// training never sees.
#pragma once

#include <cstddef>
#include <vector>

#include <i2sbseg/dataset_builder.h>

#include "data/builder/build_log.h"
#include "data/builder/build_types.h"

namespace i2sbseg::builder {

// Classes with neither cutouts nor labelled-background pixels are dropped
// (the trainer would never see them); indices are renumbered densely,
// background stays 0, and cutouts' and labels' indices rewritten to match.
std::vector<ClassInfo> drop_empty_classes(const ClassMapping& mapping, std::vector<Cutout>& cutouts,
                                          std::vector<Background>& backgrounds, Log& log);

// Splits cutouts per class, distractors and backgrounds into train/val
// pools, the validation share drawn at random from the seed.
void split_pools(const DatasetOptions& options, const std::vector<Cutout>& cutouts,
                 const std::vector<Background>& backgrounds, int num_classes, Pool& train, Pool& val, Log& log);

}  // namespace i2sbseg::builder
