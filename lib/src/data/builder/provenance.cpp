// SPDX-License-Identifier: MIT
#include "data/builder/provenance.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "bundle/class_list_json.h"

namespace i2sbseg::builder {
namespace {

using nlohmann::json;

// Distractor entries appear only when distractors were asked for: without
// them dataset.json keeps the bytes it had before the option existed.
bool with_distractors(const BuildRecord& b) { return b.options.distractors > 0; }

// Draws and measures at 4 decimals: enough to rebuild, short to read.
double rounded(double v) { return std::round(v * 1e4) / 1e4; }

// A --realism paste's look; the gain in RGB order, like the images.
json look_json(const PasteLook& l) {
  return {{"feather_sigma", rounded(l.feather_sigma)},
          {"colour_fraction", rounded(l.colour_fraction)},
          {"gain_rgb", {rounded(l.gain[2]), rounded(l.gain[1]), rounded(l.gain[0])}},
          {"blur_sigma", rounded(l.blur_sigma)}};
}

json per_class(const std::vector<ClassInfo>& classes, const std::vector<std::int64_t>& v) {
  json j = json::object();
  for (size_t k = 0; k < classes.size(); ++k) j[classes[k].name] = v[k];
  return j;
}

json pool_json(const Pool& pool, const BuildRecord& b) {
  const std::vector<ClassInfo>& classes = b.summary.classes;
  json files = json::array(), counts = json::object(), bgs = json::array();
  for (size_t k = 1; k < classes.size(); ++k) counts[classes[k].name] = pool.by_class[k].size();
  for (int i : pool.cutouts)
    files.push_back({{"file", b.cutouts[i].file}, {"class", classes[b.cutouts[i].class_index].name}});
  for (int i : pool.backgrounds) bgs.push_back(b.backgrounds[i].file);
  json j = {{"cutouts_per_class", counts}, {"cutouts", files}, {"backgrounds", bgs}};
  if (with_distractors(b)) {
    json distractors = json::array();
    for (int i : pool.distractors) distractors.push_back(b.cutouts[i].file);
    j["distractors"] = distractors;
  }
  return j;
}

json image_json(const std::string& stem, const ImageRecord& r, const BuildRecord& b) {
  json pastes = json::array();
  for (const Paste& p : r.pastes) {
    const Cutout& c = b.cutouts[p.cutout];
    json paste = {{"cutout", c.file},
                  {"class", b.summary.classes[c.class_index].name},
                  {"x", p.x},
                  {"y", p.y},
                  {"width", p.width},
                  {"height", p.height},
                  {"flipped", p.flipped}};
    if (is_distractor(c)) paste["distractor"] = true;  // class "background"
    if (b.options.realism) paste["look"] = look_json(p.look);
    pastes.push_back(paste);
  }
  json j = {{"stem", stem},
            {"background",
             {{"file", b.backgrounds[r.background].file},
              {"x", r.crop_x},
              {"y", r.crop_y},
              {"side", r.crop_side},
              {"flipped", r.background_flipped}}},
            {"pastes", pastes}};
  if (b.options.realism) j["noise_sigma"] = rounded(r.noise_sigma);
  return j;
}

// Not out_dir or threads: the same dataset built elsewhere is the same file.
json options_json(const DatasetOptions& o) {
  json j = {{"cutouts", o.cutouts_dir},
          {"backgrounds", o.backgrounds_dirs},
          {"size", o.size},
          {"count", o.count},
          {"seed", o.seed},
          {"classes_file", o.classes_file},
          {"val_fraction", o.val_fraction},
          {"min_cutouts", o.min_cutouts},
          {"max_cutouts", o.max_cutouts},
          {"min_colours", o.min_colours},
          {"cutout_max_side", cutout_max_side(o.size)}};
  // Only when given: builds without them keep their bytes.
  if (!o.labelled_backgrounds_dirs.empty()) j["labelled_backgrounds"] = o.labelled_backgrounds_dirs;
  if (o.paste_scale_min != DatasetOptions{}.paste_scale_min || o.paste_scale_max != DatasetOptions{}.paste_scale_max)
    j["paste_scale"] = {o.paste_scale_min, o.paste_scale_max};
  return j;
}

json summary_json(const SplitSummary& s, const BuildRecord& b) {
  const std::vector<ClassInfo>& classes = b.summary.classes;
  json j = {{"images", s.images},
            {"cutouts", s.cutouts},
            {"backgrounds", s.backgrounds},
            {"pixels", per_class(classes, s.pixels)},
            {"instances", per_class(classes, s.instances)}};
  if (with_distractors(b)) {
    j["distractors"] = s.distractors;
    j["distractor_pastes"] = s.distractor_pastes;
  }
  return j;
}

json categories_json(const DatasetSummary& s) {
  json categories = json::object();
  for (const auto& [name, c] : s.categories) {
    categories[name] = {{"class", c.class_name},    {"kept", c.kept},         {"drawings", c.drawings},
                        {"mirrored", c.mirrored},   {"cartoons", c.cartoons}, {"duplicates", c.duplicates},
                        {"too_small", c.too_small}, {"unusable", c.unusable}};
    if (c.distractors) categories[name]["distractors"] = true;  // only set when they were asked for
  }
  return categories;
}

json mapping_json(const ClassMapping& m) {
  json folders = json::object();
  for (const auto& [folder, cls] : m.folders) folders[folder] = cls.empty() ? json(nullptr) : json(cls);
  return {{"folders", folders}, {"other", m.other.empty() ? json(nullptr) : json(m.other)}};
}

// Everything but the images.
json head_json(const BuildRecord& b) {
  const std::vector<ClassInfo>& classes = b.summary.classes;
  json options = options_json(b.options);
  if (with_distractors(b)) options["distractors"] = b.options.distractors;
  if (b.options.realism) options["realism"] = true;  // absent without it, as before the option existed
  return {
      {"generator", "i2sbseg make-dataset"},
      {"options", options},
      {"seed", b.options.seed},
      {"classes", class_list_json_array(classes)},
      {"class_mapping", mapping_json(b.mapping)},
      {"categories", categories_json(b.summary)},
      {"skipped_backgrounds", b.summary.skipped_backgrounds},
      {"train", pool_json(b.train, b)},
      {"val", pool_json(b.val, b)},
      {"summary", {{"train", summary_json(b.summary.train, b)}, {"val", summary_json(b.summary.val, b)}}},
  };
}

}  // namespace

std::string dataset_json_text(const BuildRecord& b) {
  std::string text = head_json(b).dump(2);
  text.pop_back();  // the closing brace
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  text += ",\n  \"images\": [";
  for (size_t i = 0; i < b.records.size(); ++i)
    text += std::string(i ? "," : "") + "\n    " + image_json(b.stems[i], b.records[i], b).dump();
  text += "\n  ]\n}\n";
  return text;
}

}  // namespace i2sbseg::builder
