// SPDX-License-Identifier: MIT
// build_dataset: the builder's stages in order. Each stage lives in
// data/builder/: options_check, cutout_filter, background_pool,
// split_pools, render, output_folder, provenance.
#include <i2sbseg/dataset_builder.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <i2sbseg/class_list.h>
#include <i2sbseg/error.h>

#include "data/builder/background_pool.h"
#include "data/builder/build_log.h"
#include "data/builder/build_types.h"
#include "data/builder/cutout_filter.h"
#include "data/builder/options_check.h"
#include "data/builder/output_folder.h"
#include "data/builder/provenance.h"
#include "data/builder/random_draws.h"
#include "data/builder/render.h"
#include "data/builder/split_pools.h"
#include "data/builder/work_pool.h"

namespace i2sbseg {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using builder::Background;
using builder::Cutout;
using builder::ImageRecord;
using builder::Log;
using builder::Pool;

constexpr int kProgressEvery = 250;

// Errors of the mapping file carry the option that named it.
ClassMapping load_mapping(const DatasetOptions& o) {
  if (o.classes_file.empty()) return ClassMapping::make_default();
  try {
    return ClassMapping::from_json_file(o.classes_file);
  } catch (const Error& e) {
    throw Error(e.kind(), e.what(), "classes_file");
  }
}

// The pools and image counts of both splits; validation images come last.
struct Splits {
  Pool train, val;
  int n_train = 0, n_val = 0;
};

Splits make_splits(const DatasetOptions& o, const std::vector<Cutout>& cutouts, const std::vector<Background>& backgrounds,
                   int num_classes, Log& log) {
  Splits s;
  builder::split_pools(o, cutouts, backgrounds, num_classes, s.train, s.val, log);
  s.n_val = static_cast<int>(std::lround(o.count * o.val_fraction));
  s.n_train = o.count - s.n_val;
  if (s.n_val > 0 && s.val.classes.empty() && o.max_cutouts > 0)
    throw Error(ErrorKind::kInvalidOption,
                "validation fraction " + builder::format_number(o.val_fraction) +
                    ": no class has 2 or more cutouts, so validation images would get none (a fraction of 0 "
                    "keeps every cutout for training)",
                "val_fraction");
  return s;
}

void report_progress(int done, int total, Clock::time_point start, Log& log) {
  if (done % kProgressEvery != 0 && done != total) return;
  const double s = std::chrono::duration<double>(Clock::now() - start).count();
  char buf[128];
  std::snprintf(buf, sizeof buf, "make-dataset: %d/%d images, %.1f images/s", done, total, s > 0 ? done / s : 0.0);
  log.line(buf);
}

// Renders and writes every image and mask; their stems and records come
// back in image order whatever thread drew them.
void render_all(const DatasetOptions& o, const Splits& s, const std::vector<Cutout>& cutouts,
                const std::vector<Background>& backgrounds, int num_classes, std::vector<std::string>& stems,
                std::vector<ImageRecord>& records, Log& log) {
  const fs::path out(o.out_dir);
  stems.assign(o.count, {});
  records.assign(o.count, {});
  std::atomic<int> done{0};
  const auto start = Clock::now();
  builder::parallel_for(o.count, o.threads, [&](int i) {
    const bool is_val = i >= s.n_train;
    const int index = is_val ? i - s.n_train : i;
    stems[i] = builder::stem_of(is_val, index);
    cv::Mat image, mask;
    // --realism draws from streams of its own (6, 7): the others draw as without it.
    std::mt19937_64 look_rng = builder::make_rng(o.seed, is_val ? 7 : 6, index);
    records[i] = builder::render_image(o, is_val ? s.val : s.train, cutouts, backgrounds, num_classes,
                                       builder::make_rng(o.seed, is_val ? 4 : 3, index),
                                       o.realism ? &look_rng : nullptr, image, mask);
    builder::write_png(out / "images" / (stems[i] + ".png"), image);
    builder::write_png(out / "masks" / (stems[i] + ".png"), mask);
    report_progress(++done, o.count, start, log);
  });
}

// Pixels and pastes per class (distractors apart) over images [first, first + n).
SplitSummary tally_split(const Pool& pool, const std::vector<ImageRecord>& records, int first, int n,
                         const std::vector<Cutout>& cutouts, int num_classes) {
  SplitSummary split;
  split.images = n;
  split.cutouts = static_cast<int>(pool.cutouts.size());
  split.backgrounds = static_cast<int>(pool.backgrounds.size());
  split.distractors = static_cast<int>(pool.distractors.size());
  split.pixels.assign(num_classes, 0);
  split.instances.assign(num_classes, 0);
  for (int i = first; i < first + n; ++i) {
    for (int k = 0; k < num_classes; ++k) split.pixels[k] += records[i].pixels[k];
    for (const builder::Paste& p : records[i].pastes) {
      const Cutout& c = cutouts[p.cutout];
      ++(builder::is_distractor(c) ? split.distractor_pastes : split.instances[c.class_index]);
    }
  }
  return split;
}

void write_split_lists(const fs::path& out, const std::vector<std::string>& stems, int n_train) {
  std::string train_txt, val_txt;
  for (int i = 0; i < static_cast<int>(stems.size()); ++i) (i < n_train ? train_txt : val_txt) += stems[i] + "\n";
  builder::write_text(out / "train.txt", train_txt);
  builder::write_text(out / "val.txt", val_txt);
}

}  // namespace

DatasetSummary build_dataset(const DatasetOptions& o) {
  const auto t0 = Clock::now();
  builder::validate(o);
  Log log(o.log);
  builder::OpenCvThreadsGuard cv_threads;
  const ClassMapping mapping = load_mapping(o);
  DatasetSummary summary;
  std::vector<Cutout> cutouts = builder::load_cutouts(o, mapping, summary, log);
  std::vector<Background> backgrounds = builder::load_backgrounds(o, mapping, summary, log);
  summary.classes = builder::drop_empty_classes(mapping, cutouts, backgrounds, log);
  const int num_classes = static_cast<int>(summary.classes.size());
  const Splits s = make_splits(o, cutouts, backgrounds, num_classes, log);

  const fs::path out(o.out_dir);
  builder::prepare_out_dir(out);
  std::vector<std::string> stems;
  std::vector<ImageRecord> records;
  render_all(o, s, cutouts, backgrounds, num_classes, stems, records, log);
  summary.train = tally_split(s.train, records, 0, s.n_train, cutouts, num_classes);
  summary.val = tally_split(s.val, records, s.n_train, s.n_val, cutouts, num_classes);

  write_split_lists(out, stems, s.n_train);
  builder::write_text(out / "classes.json", class_list_to_json(summary.classes));
  const builder::BuildRecord record{o, mapping, summary, s.train, s.val, cutouts, backgrounds, stems, records};
  builder::write_text(out / "dataset.json", builder::dataset_json_text(record));
  summary.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return summary;
}

}  // namespace i2sbseg
