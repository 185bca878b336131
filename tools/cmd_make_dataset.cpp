// SPDX-License-Identifier: MIT
// `i2sbseg make-dataset`: a copy-paste segmentation dataset from photographic
// cutouts and background photos (docs/design.md §6).
#include <i2sbseg/dataset_builder.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include <i2sbseg/error.h>

#include "commands.h"
#include "field_flags.h"

namespace i2sbseg::tools {
namespace {

// DatasetOptions members -> this command's flags: library errors name the
// member (Error::field), the user typed the flag.
const FieldFlags& option_flags() {
  static const FieldFlags flags{
      {"cutouts_dir", "--cutouts"}, {"backgrounds_dirs", "--backgrounds"},
      {"labelled_backgrounds_dirs", "--labelled-backgrounds"}, {"out_dir", "--out"},
      {"size", "--size"}, {"count", "--count"}, {"classes_file", "--classes"}, {"val_fraction", "--val-fraction"},
      {"min_cutouts", "--min-cutouts"}, {"max_cutouts", "--max-cutouts"}, {"min_colours", "--min-colours"},
      {"distractors", "--distractors"}, {"paste_scale", "--paste-scale"}, {"threads", "--threads"}};
  return flags;
}

void print_categories(const DatasetSummary& s) {
  std::printf("cutouts per folder: kept | drawings, cartoon/, _mirror/_flip, duplicates, too small, unusable\n");
  for (const auto& [folder, c] : s.categories) {
    if (c.class_name.empty() && !c.distractors) {
      std::printf("  %-14s skipped\n", folder.c_str());
      continue;
    }
    const char* target = c.distractors ? "distractor" : c.class_name.c_str();
    std::printf("  %-14s -> %-10s %4d | %4d %4d %4d %4d %4d %4d\n", folder.c_str(), target, c.kept,
                c.drawings, c.cartoons, c.mirrored, c.duplicates, c.too_small, c.unusable);
  }
  std::printf("backgrounds skipped:");
  if (s.skipped_backgrounds.empty()) std::printf(" none");
  for (const auto& [why, n] : s.skipped_backgrounds) std::printf(" %d (%s)", n, why.c_str());
  std::printf("\n");
}

double percent(std::int64_t part, std::int64_t whole) { return whole > 0 ? 100.0 * part / whole : 0.0; }

void print_split(const char* name, const SplitSummary& sp, const std::vector<ClassInfo>& classes,
                 bool distractors) {
  std::int64_t total = 0;
  for (std::int64_t p : sp.pixels) total += p;
  std::printf("%s: %d images from %d cutouts and %d backgrounds\n", name, sp.images, sp.cutouts, sp.backgrounds);
  std::printf("  %-12s %12s %7s %10s\n", "class", "pixels", "%", "instances");
  for (size_t k = 0; k < classes.size(); ++k)
    std::printf("  %-12s %12lld %6.2f%% %10lld\n", classes[k].name.c_str(), static_cast<long long>(sp.pixels[k]),
                percent(sp.pixels[k], total), static_cast<long long>(sp.instances[k]));
  if (distractors)
    std::printf("  distractors: %lld pasted from %d cutouts, labelled background\n",
                static_cast<long long>(sp.distractor_pastes), sp.distractors);
}

int run_make_dataset(const DatasetOptions& o) {
  DatasetSummary s;
  try {
    s = build_dataset(o);
  } catch (const Error& e) {
    throw with_flag(e, option_flags());
  }
  print_categories(s);
  print_split("train", s.train, s.classes, o.distractors > 0);
  print_split("val", s.val, s.classes, o.distractors > 0);
  std::printf("wrote %s: %d images, %zu classes, %.1f s\n", o.out_dir.c_str(), s.train.images + s.val.images,
              s.classes.size(), s.seconds);
  return 0;
}

}  // namespace

Command add_make_dataset_command(CLI::App& app) {
  auto o = std::make_shared<DatasetOptions>();
  o->log = &std::cerr;
  CLI::App* sub = app.add_subcommand(
      "make-dataset",
      "Build a copy-paste segmentation dataset: photographic RGBA cutouts pasted onto background photos");
  sub->add_option("--cutouts", o->cutouts_dir, "Folder of RGBA PNG cutouts in <category>/ subfolders")->required();
  sub->add_option("--backgrounds", o->backgrounds_dirs, "Folder of background PNG/JPEG photos (repeatable)");
  sub->add_option("--labelled-backgrounds", o->labelled_backgrounds_dirs,
                  "Dataset folder (images/, masks/, classes.json, train.txt/val.txt) whose photos are backgrounds "
                  "with their labels: pastes go over the labels (classes matched by name to --classes, 255 kept); "
                  "each image stays in its folder's split (repeatable)");
  sub->add_option("--out", o->out_dir,
                  "Output folder (images/, masks/, classes.json, train.txt, val.txt, dataset.json)")
      ->required();
  sub->add_option("--size", o->size, "Image side in pixels")->capture_default_str();
  sub->add_option("--count", o->count, "Number of images, train and val together")->capture_default_str();
  sub->add_option("--seed", o->seed, "Random seed (same arguments and seed: identical files)")->capture_default_str();
  sub->add_option(
      "--classes", o->classes_file,
      "JSON {\"classes\": [{\"name\", \"color\"}...], \"folders\": {\"animals\": \"animal\"...}, "
      "\"other\": class or null}; default: animals, plants, food, vehicles; every other folder skipped");
  sub->add_option("--val-fraction", o->val_fraction, "Share of images, cutouts and backgrounds held out for validation")
      ->capture_default_str();
  sub->add_option("--min-cutouts", o->min_cutouts, "Fewest cutouts per image")->capture_default_str();
  sub->add_option("--max-cutouts", o->max_cutouts, "Most cutouts per image")->capture_default_str();
  sub->add_option("--distractors", o->distractors,
                  "Most distractor pastes per image (0..16; 0 to N drawn per image): cutouts of the folders "
                  "the class mapping skips (not symbols/), labelled background")
      ->capture_default_str();
  sub->add_flag("--realism", o->realism,
               "Blend pastes into the photo: feathered matte, colour and blur matched to what they cover, "
               "mild noise on the whole image (masks unchanged; off: the same bytes as before)");
  sub->add_option_function<std::vector<double>>(
         "--paste-scale",
         [o](const std::vector<double>& v) {
           o->paste_scale_min = v[0];
           o->paste_scale_max = v[1];
         },
         "A paste's longest side as a share of the image side, drawn uniformly in MIN..MAX (default 0.25 0.9; "
         "smaller makes far objects)")
      ->expected(2)
      ->type_name("MIN MAX");
  sub->add_option("--min-colours", o->min_colours,
                  "A cutout is a photograph when its opaque pixels have more distinct colours")
      ->capture_default_str();
  sub->add_option("--threads", o->threads, "Worker threads (the output does not depend on it)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  return {sub, [o] { return run_make_dataset(*o); }};
}

}  // namespace i2sbseg::tools
