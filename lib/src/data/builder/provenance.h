// SPDX-License-Identifier: MIT
// dataset.json: how a dataset was made (options, class mapping, per-folder
// counts, the pools of each split, every paste of every image), so it can
// be checked and rebuilt.
#pragma once

#include <string>
#include <vector>

#include <i2sbseg/dataset_builder.h>

#include "data/builder/build_types.h"

namespace i2sbseg::builder {

// Everything dataset.json records, as the builder holds it.
struct BuildRecord {
  const DatasetOptions& options;
  const ClassMapping& mapping;
  const DatasetSummary& summary;
  const Pool& train;
  const Pool& val;
  const std::vector<Cutout>& cutouts;
  const std::vector<Background>& backgrounds;
  const std::vector<std::string>& stems;     // per image, train first
  const std::vector<ImageRecord>& records;  // per image, train first
};

// Pretty-printed, with one line per image so the file stays readable.
std::string dataset_json_text(const BuildRecord& record);

}  // namespace i2sbseg::builder
