// SPDX-License-Identifier: MIT
#include <i2sbseg/class_list.h>

#include <map>

#include <i2sbseg/error.h>

#include "bundle/class_list_json.h"

namespace i2sbseg {
namespace {

using nlohmann::json;

std::string entry(size_t i) { return "classes[" + std::to_string(i) + "]"; }

Error bad(const std::string& source, const std::string& what) {
  return Error(ErrorKind::kBadFile, source + ": " + what);
}

std::array<std::uint8_t, 3> parse_color(const json& c, const std::string& where, const std::string& source) {
  if (!c.contains("color")) throw bad(source, where + " needs a \"color\": [r, g, b]");
  const json& col = c["color"];
  bool ok = col.is_array() && col.size() == 3;
  for (size_t k = 0; ok && k < 3; ++k)
    ok = col[k].is_number_integer() && col[k].get<long long>() >= 0 && col[k].get<long long>() <= 255;
  if (!ok) throw bad(source, where + ": \"color\" must be three integers 0..255, got " + col.dump());
  return {col[0].get<std::uint8_t>(), col[1].get<std::uint8_t>(), col[2].get<std::uint8_t>()};
}

}  // namespace

std::vector<ClassInfo> class_entries_from_json(const json& array, const std::string& source) {
  if (!array.is_array()) throw bad(source, "\"classes\" must be an array of {\"name\", \"color\"} objects");
  std::vector<ClassInfo> out;
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < array.size(); ++i) {
    const json& c = array[i];
    if (!c.is_object() || !c.contains("name") || !c["name"].is_string() || c["name"].get<std::string>().empty())
      throw bad(source, entry(i) + " needs a non-empty \"name\" string");
    ClassInfo info{c["name"].get<std::string>(), {0, 0, 0}};
    const std::string where = entry(i) + " (\"" + info.name + "\")";
    const auto [it, fresh] = seen.emplace(info.name, i);
    if (!fresh) throw bad(source, where + ": the name is already used by " + entry(it->second));
    info.color = parse_color(c, where, source);
    out.push_back(info);
  }
  return out;
}

json class_list_json_array(const std::vector<ClassInfo>& classes) {
  json arr = json::array();
  for (const ClassInfo& c : classes) arr.push_back({{"name", c.name}, {"color", {c.color[0], c.color[1], c.color[2]}}});
  return arr;
}

void check_class_list(const std::vector<ClassInfo>& classes, const std::string& source) {
  const int n = static_cast<int>(classes.size());
  if (n < kMinClasses || n > kMaxClasses)
    throw bad(source, "needs " + std::to_string(kMinClasses) + " to " + std::to_string(kMaxClasses) +
                          " classes (the background and up to 255 others: class maps are 8-bit), has " +
                          std::to_string(n));
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < classes.size(); ++i) {
    if (classes[i].name.empty()) throw bad(source, entry(i) + " needs a non-empty name");
    const auto [it, fresh] = seen.emplace(classes[i].name, i);
    if (!fresh)
      throw bad(source, entry(i) + " (\"" + classes[i].name + "\"): the name is already used by " + entry(it->second));
  }
}

std::vector<ClassInfo> parse_class_list(const std::string& text, const std::string& source) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) throw bad(source, "not valid JSON");
  if (!j.is_object() || !j.contains("classes")) throw bad(source, "expected a JSON object with a \"classes\" array");
  std::vector<ClassInfo> classes = class_entries_from_json(j["classes"], source);
  check_class_list(classes, source);
  return classes;
}

std::string class_list_to_json(const std::vector<ClassInfo>& classes) {
  std::string text = "{\"classes\": [";
  for (size_t k = 0; k < classes.size(); ++k) {
    const ClassInfo& c = classes[k];
    const nlohmann::ordered_json j{{"name", c.name}, {"color", {c.color[0], c.color[1], c.color[2]}}};
    text += std::string(k ? "," : "") + "\n  " + j.dump();
  }
  return text + "\n]}\n";
}

std::string class_names(const std::vector<ClassInfo>& classes) {
  std::string out = "[";
  for (size_t k = 0; k < classes.size(); ++k) out += (k ? ", " : "") + classes[k].name;
  return out + "]";
}

}  // namespace i2sbseg
