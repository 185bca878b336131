// SPDX-License-Identifier: MIT
// ClassMapping (<i2sbseg/dataset_builder.h>): which class each cutout
// folder (top-level, or a sub-folder path overriding it) becomes. Its class list follows <i2sbseg/class_list.h>.
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include <i2sbseg/class_list.h>
#include <i2sbseg/dataset_builder.h>
#include <i2sbseg/error.h>

#include "bundle/class_list_json.h"

namespace i2sbseg {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

ClassInfo class_info(const std::string& name, int r, int g, int b) {
  return {name, {static_cast<std::uint8_t>(r), static_cast<std::uint8_t>(g), static_cast<std::uint8_t>(b)}};
}

Error bad(const std::string& path, const std::string& what) { return Error(ErrorKind::kBadFile, path + ": " + what); }

// A folder's class name from JSON: a string, or null/"" to skip it.
std::string parse_target(const json& v, const ClassMapping& m, const std::string& path, const std::string& where) {
  if (v.is_null()) return "";
  if (!v.is_string()) throw bad(path, where + " must be a class name or null");
  const std::string name = v.get<std::string>();
  if (name.empty()) return "";
  if (m.class_index(name) <= 0)
    throw bad(path, where + ": \"" + name + "\" is not one of the (non-background) classes");
  return name;
}

json read_json_file(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(ErrorKind::kNotFound, path + ": no such class mapping file");
  std::ifstream f(path);
  if (!f || fs::is_directory(path, ec)) throw bad(path, "cannot read the file");
  try {
    return json::parse(f);
  } catch (const json::exception& e) {
    throw bad(path, std::string("not valid JSON (") + e.what() + ")");
  }
}

// The listed classes with the background first: added when the file has
// none, refused anywhere but first.
std::vector<ClassInfo> mapping_classes(const json& j, const std::string& path) {
  if (!j.is_object() || !j.contains("classes") || !j["classes"].is_array() || j["classes"].empty())
    throw bad(path, "needs a non-empty \"classes\" array");
  std::vector<ClassInfo> classes = class_entries_from_json(j["classes"], path);
  for (size_t k = 1; k < classes.size(); ++k)
    if (classes[k].name == "background")
      throw bad(path, "classes[" + std::to_string(k) + "]: \"background\" must be the first class");
  if (classes[0].name != "background") classes.insert(classes.begin(), class_info("background", 0, 0, 0));
  check_class_list(classes, path);
  return classes;
}

}  // namespace

ClassMapping ClassMapping::make_default() {
  ClassMapping m;
  m.classes = {class_info("background", 0, 0, 0), class_info("animal", 230, 25, 75), class_info("plant", 60, 180, 75),
               class_info("food", 255, 225, 25), class_info("vehicle", 0, 130, 200)};
  m.folders = {{"animals", "animal"}, {"plants", "plant"}, {"food", "food"}, {"vehicles", "vehicle"}, {"symbols", ""}};
  // Other folders are skipped: as one class "object" (a dozen unrelated
  // folders) no model learnt them (IoU 0.00 to 0.15), and as background
  // they would teach that objects are background. --classes brings them back.
  m.other = "";
  return m;
}

ClassMapping ClassMapping::from_json_file(const std::string& path) {
  const json j = read_json_file(path);
  ClassMapping m;
  m.classes = mapping_classes(j, path);
  if (!j.contains("folders") || !j["folders"].is_object()) throw bad(path, "needs a \"folders\" object");
  for (const auto& [folder, target] : j["folders"].items())
    m.folders[folder] = parse_target(target, m, path, "folders." + folder);
  if (j.contains("other")) m.other = parse_target(j["other"], m, path, "other");
  return m;
}

std::string ClassMapping::class_for(const std::string& folder) const {
  const auto it = folders.find(folder);
  return it == folders.end() ? other : it->second;
}

// The deepest listed folder on `dir`'s path, or folders.end().
static std::map<std::string, std::string>::const_iterator deepest_listed(const std::map<std::string, std::string>& f,
                                                                        std::string dir) {
  for (;;) {
    const auto it = f.find(dir);
    if (it != f.end()) return it;
    const auto slash = dir.rfind('/');
    if (slash == std::string::npos) return f.end();
    dir.resize(slash);
  }
}

std::string ClassMapping::class_for_path(const std::string& dir) const {
  const auto it = deepest_listed(folders, dir);
  return it == folders.end() ? other : it->second;
}

bool ClassMapping::lists_path(const std::string& dir) const { return deepest_listed(folders, dir) != folders.end(); }

int ClassMapping::class_index(const std::string& name) const {
  for (size_t k = 0; k < classes.size(); ++k)
    if (classes[k].name == name) return static_cast<int>(k);
  return -1;
}

}  // namespace i2sbseg
