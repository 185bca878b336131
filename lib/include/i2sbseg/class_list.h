// SPDX-License-Identifier: MIT
// The class list, with one set of rules for every place that reads or
// writes it: a bundle's config, a dataset's classes.json, a packed dataset
// and the dataset builder's class mapping. Its JSON form:
//   {"classes": [{"name": "background", "color": [0, 0, 0]}, ...]}
// Rules: 2 to 256 classes (class maps are 8-bit, index 0 is the
// background), every name a non-empty string used once, every colour
// three integers 0..255. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <i2sbseg/config.h>

namespace i2sbseg {

constexpr int kMinClasses = 2;
constexpr int kMaxClasses = 256;

// The mask value of unlabelled pixels ("ignore index"): in a dataset's
// masks (class maps of the truth) 255 is no class. Loading accepts it
// whatever the class count, the training loss skips those pixels and every
// metric leaves them out (metrics.h). With 256 classes, class 255 can be
// predicted but not labelled.
constexpr std::uint8_t kIgnoreIndex = 255;

// Checks the count and the names; throws Error (kBadFile) naming `source`
// and the entry at fault.
void check_class_list(const std::vector<ClassInfo>& classes, const std::string& source);

// Parses and checks the JSON text above; errors name `source` and the entry.
std::vector<ClassInfo> parse_class_list(const std::string& text, const std::string& source);

// The JSON text above, one class per line, name before colour.
std::string class_list_to_json(const std::vector<ClassInfo>& classes);

// The names in order, for messages: "[background, animal, plant]".
std::string class_names(const std::vector<ClassInfo>& classes);

}  // namespace i2sbseg
