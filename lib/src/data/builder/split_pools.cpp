// SPDX-License-Identifier: MIT
#include "data/builder/split_pools.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include <opencv2/core.hpp>

#include <i2sbseg/class_list.h>

#include "data/builder/random_draws.h"

namespace i2sbseg::builder {
namespace {

// round(n * fraction) to the validation side, at least one on each side
// once there are two.
int val_share(int n, double fraction) {
  if (n < 2 || fraction <= 0) return 0;
  return std::clamp(static_cast<int>(std::lround(n * fraction)), 1, n - 1);
}

// The first val_share(v) of a shuffled `v` go to `val`, the rest to `train`.
void deal(std::vector<int> v, double fraction, std::mt19937_64 rng, std::vector<int>& train, std::vector<int>& val) {
  shuffle(v, rng);
  const int n_val = val_share(static_cast<int>(v.size()), fraction);
  for (size_t j = 0; j < v.size(); ++j) (static_cast<int>(j) < n_val ? val : train).push_back(v[j]);
}

void index_by_class(Pool& p, const std::vector<Cutout>& cutouts, int num_classes) {
  std::sort(p.cutouts.begin(), p.cutouts.end());
  std::sort(p.backgrounds.begin(), p.backgrounds.end());
  std::sort(p.distractors.begin(), p.distractors.end());
  for (int i : p.cutouts) p.by_class[cutouts[i].class_index].push_back(i);
  for (int k = 1; k < num_classes; ++k)
    if (!p.by_class[k].empty()) p.classes.push_back(k);
}

}  // namespace

std::vector<ClassInfo> drop_empty_classes(const ClassMapping& mapping, std::vector<Cutout>& cutouts,
                                          std::vector<Background>& backgrounds, Log& log) {
  std::vector<int> used(mapping.classes.size(), 0);
  for (const Cutout& c : cutouts) used[c.class_index] = 1;
  for (const Background& b : backgrounds)
    for (int y = 0; y < b.labels.rows; ++y)
      for (const std::uint8_t* p = b.labels.ptr<std::uint8_t>(y); p != b.labels.ptr<std::uint8_t>(y) + b.labels.cols; ++p)
        if (*p < used.size()) used[*p] = 1;
  std::vector<int> remap(mapping.classes.size(), -1);
  std::vector<ClassInfo> classes{mapping.classes[0]};
  remap[0] = 0;
  for (size_t k = 1; k < mapping.classes.size(); ++k) {
    if (used[k]) {
      remap[k] = static_cast<int>(classes.size());
      classes.push_back(mapping.classes[k]);
    } else {
      log.warn("class \"" + mapping.classes[k].name + "\" has no photographic cutouts; left out of classes.json");
    }
  }
  for (Cutout& c : cutouts) c.class_index = remap[c.class_index];
  cv::Mat lut(1, 256, CV_8U, cv::Scalar(kIgnoreIndex));
  for (size_t k = 0; k < remap.size(); ++k)
    if (remap[k] >= 0) lut.at<std::uint8_t>(static_cast<int>(k)) = static_cast<std::uint8_t>(remap[k]);
  for (Background& b : backgrounds)
    if (!b.labels.empty()) cv::LUT(b.labels, lut, b.labels);
  return classes;
}

void split_pools(const DatasetOptions& o, const std::vector<Cutout>& cutouts, const std::vector<Background>& backgrounds,
                 int num_classes, Pool& train, Pool& val, Log& log) {
  for (Pool* p : {&train, &val}) p->by_class.assign(num_classes, {});
  for (int k = 1; k < num_classes; ++k) {
    std::vector<int> members;
    for (size_t i = 0; i < cutouts.size(); ++i)
      if (cutouts[i].class_index == k) members.push_back(static_cast<int>(i));
    deal(members, o.val_fraction, make_rng(o.seed, 1, k), train.cutouts, val.cutouts);
  }
  std::vector<int> bg;  // plain backgrounds are dealt; labelled ones keep their folder's split
  for (size_t i = 0; i < backgrounds.size(); ++i) {
    if (backgrounds[i].split < 0)
      bg.push_back(static_cast<int>(i));
    else
      (backgrounds[i].split == 1 ? val : train).backgrounds.push_back(static_cast<int>(i));
  }
  deal(bg, o.val_fraction, make_rng(o.seed, 2, 0), train.backgrounds, val.backgrounds);
  std::vector<int> distractors;
  for (size_t i = 0; i < cutouts.size(); ++i)
    if (is_distractor(cutouts[i])) distractors.push_back(static_cast<int>(i));
  deal(distractors, o.val_fraction, make_rng(o.seed, 5, 0), train.distractors, val.distractors);
  for (Pool* p : {&train, &val}) index_by_class(*p, cutouts, num_classes);
  if (o.val_fraction > 0 && val.backgrounds.empty()) {
    log.warn("only one background image: validation images reuse it");
    val.backgrounds = train.backgrounds;
  }
  if (o.val_fraction > 0 && val.distractors.empty() && !train.distractors.empty())
    log.warn("only one distractor cutout: validation images get no distractors");
}

}  // namespace i2sbseg::builder
