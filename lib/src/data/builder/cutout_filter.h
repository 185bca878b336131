// SPDX-License-Identifier: MIT
// Which cutouts the builder keeps: photographs (the test is in
// <i2sbseg/dataset_builder.h>) of a mapped class or, as distractors, of a
// skipped folder; not mirrored or cartoon variants, each picture once.
#pragma once

#include <vector>

#include <i2sbseg/dataset_builder.h>

#include "data/builder/build_log.h"
#include "data/builder/build_types.h"

namespace i2sbseg::builder {

// Reads every cutout under cutouts_dir/<category>/..., filters, counts per
// category in `summary`; with options.distractors > 0 the skipped folders'
// too, as distractors (class index 0). Throws Error (kInvalidOption,
// "cutouts_dir") when no class cutout is left, ("distractors") when
// distractors are asked for and none is left.
std::vector<Cutout> load_cutouts(const DatasetOptions& options, const ClassMapping& mapping, DatasetSummary& summary,
                                 Log& log);

}  // namespace i2sbseg::builder
