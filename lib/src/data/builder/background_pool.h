// SPDX-License-Identifier: MIT
// The background photos the builder crops: read, filtered and shrunk.
#pragma once

#include <vector>

#include <i2sbseg/dataset_builder.h>

#include "data/builder/build_log.h"
#include "data/builder/build_types.h"

namespace i2sbseg::builder {

// Every PNG/JPEG under the backgrounds folders that is at least size x size
// and not a screenshot, then every image the labelled backgrounds folders
// list (their labels as indices into `mapping`'s classes); skips are
// counted in `summary`. Throws Error (kInvalidOption, "backgrounds_dirs")
// when none is left.
std::vector<Background> load_backgrounds(const DatasetOptions& options, const ClassMapping& mapping,
                                         DatasetSummary& summary, Log& log);

}  // namespace i2sbseg::builder
