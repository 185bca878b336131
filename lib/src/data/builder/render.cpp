// SPDX-License-Identifier: MIT
#include "data/builder/render.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include <opencv2/imgproc.hpp>

#include "data/builder/random_draws.h"
#include "data/builder/realism.h"

namespace i2sbseg::builder {
namespace {

// The random crop of a background, size x size, and of its labels (nearest;
// all background when it has none) into `mask`.
cv::Mat crop_background(const Background& bg, int size, std::mt19937_64& rng, ImageRecord& rec, cv::Mat& mask) {
  const int shortest = std::min(bg.bgr.cols, bg.bgr.rows);
  rec.crop_side = uniform_int(rng, std::min(shortest, size), shortest);
  rec.crop_x = uniform_int(rng, 0, bg.bgr.cols - rec.crop_side);
  rec.crop_y = uniform_int(rng, 0, bg.bgr.rows - rec.crop_side);
  rec.background_flipped = uniform01(rng) < 0.5;
  cv::Mat out;
  cv::resize(bg.bgr(cv::Rect(rec.crop_x, rec.crop_y, rec.crop_side, rec.crop_side)), out, cv::Size(size, size), 0, 0,
             rec.crop_side > size ? cv::INTER_AREA : cv::INTER_LINEAR);
  if (rec.background_flipped) cv::flip(out, out, 1);
  if (bg.labels.empty()) {
    mask = cv::Mat::zeros(size, size, CV_8UC1);
  } else {
    cv::resize(bg.labels(cv::Rect(rec.crop_x, rec.crop_y, rec.crop_side, rec.crop_side)), mask, cv::Size(size, size),
               0, 0, cv::INTER_NEAREST);
    if (rec.background_flipped) cv::flip(mask, mask, 1);
  }
  return out;
}

// One element, uniformly.
int pick(const std::vector<int>& v, std::mt19937_64& rng) {
  return v[uniform_int(rng, 0, static_cast<int>(v.size()) - 1)];
}

// Scale, flip and position of a paste of `cutout`: the same draws for
// classes and distractors, so size or place never tells them apart.
Paste place(int cutout, const std::vector<Cutout>& cutouts, const DatasetOptions& o, std::mt19937_64& rng) {
  Paste p;
  p.cutout = cutout;
  const cv::Mat& c = cutouts[p.cutout].rgba;
  const int size = o.size;
  const double longest = size * (o.paste_scale_min + (o.paste_scale_max - o.paste_scale_min) * uniform01(rng));
  const double scale = longest / std::max(c.cols, c.rows);
  p.width = std::max(1, static_cast<int>(std::lround(c.cols * scale)));
  p.height = std::max(1, static_cast<int>(std::lround(c.rows * scale)));
  p.flipped = uniform01(rng) < 0.5;
  // Up to a quarter of the cutout may hang over each edge.
  p.x = uniform_int(rng, -p.width / 4, size - p.width + p.width / 4);
  p.y = uniform_int(rng, -p.height / 4, size - p.height + p.height / 4);
  return p;
}

// A class paste: the class uniformly among the pool's classes (rare classes
// keep their share), then a cutout of it.
Paste draw_paste(const Pool& pool, const std::vector<Cutout>& cutouts, const DatasetOptions& o, std::mt19937_64& rng) {
  const int k = pick(pool.classes, rng);
  const int cutout = pick(pool.by_class[k], rng);
  return place(cutout, cutouts, o, rng);
}

// Which pastes are distractors, in paste order: `n` class pastes and
// 0..options.distractors distractors shuffled together, so either may
// occlude the other. Without distractors nothing more is drawn: such
// images stay as they were before distractors existed.
std::vector<std::uint8_t> paste_order(const DatasetOptions& o, const Pool& pool, int n, std::mt19937_64& rng) {
  const int d = pool.distractors.empty() ? 0 : uniform_int(rng, 0, o.distractors);
  std::vector<std::uint8_t> order(n, 0);
  order.insert(order.end(), d, 1);
  if (d > 0) shuffle(order, rng);
  return order;
}

}  // namespace

ImageRecord render_image(const DatasetOptions& o, const Pool& pool, const std::vector<Cutout>& cutouts,
                         const std::vector<Background>& backgrounds, int num_classes, std::mt19937_64 rng,
                         std::mt19937_64* look_rng, cv::Mat& image, cv::Mat& mask) {
  ImageRecord rec;
  rec.background = pool.backgrounds[uniform_int(rng, 0, static_cast<int>(pool.backgrounds.size()) - 1)];
  image = crop_background(backgrounds[rec.background], o.size, rng, rec, mask);
  const int n = uniform_int(rng, o.min_cutouts, o.max_cutouts);
  for (const std::uint8_t distractor : paste_order(o, pool, n, rng)) {
    Paste p = distractor ? place(pick(pool.distractors, rng), cutouts, o, rng) : draw_paste(pool, cutouts, o, rng);
    const Cutout& c = cutouts[p.cutout];
    const cv::Mat scaled = scale_cutout(c.rgba, p.width, p.height, p.flipped);
    if (look_rng)
      p.look = paste_cutout_realistic(image, mask, scaled, c.class_index, p.x, p.y, draw_paste_look(*look_rng));
    else
      paste_cutout(image, mask, scaled, c.class_index, p.x, p.y);
    rec.pastes.push_back(p);
  }
  if (look_rng) {  // last: pasted and photographed pixels get the same grain
    rec.noise_sigma = draw_noise_sigma(*look_rng);
    add_image_noise(image, rec.noise_sigma, *look_rng);
  }
  rec.pixels.assign(num_classes, 0);
  for (int y = 0; y < mask.rows; ++y) {
    const std::uint8_t* m = mask.ptr<std::uint8_t>(y);
    for (int x = 0; x < mask.cols; ++x)
      if (m[x] < num_classes) ++rec.pixels[m[x]];  // 255 (a labelled background's unlabelled) counts in none
  }
  return rec;
}

}  // namespace i2sbseg::builder
