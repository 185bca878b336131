// SPDX-License-Identifier: MIT
// The class list as a JSON array, for readers and writers that embed it in
// a larger document (the bundle config, the builder's mapping and
// dataset.json). The rules are those of <i2sbseg/class_list.h>.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <i2sbseg/config.h>

namespace i2sbseg {

// Each entry of a "classes" array, checked on its own and for unique names;
// the count is left to check_class_list (the builder adds a background
// before counting). Errors (kBadFile) name `source` and classes[i].
std::vector<ClassInfo> class_entries_from_json(const nlohmann::json& array, const std::string& source);

// [{"name", "color"}, ...]
nlohmann::json class_list_json_array(const std::vector<ClassInfo>& classes);

}  // namespace i2sbseg
