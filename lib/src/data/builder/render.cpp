// SPDX-License-Identifier: MIT
#include "data/builder/render.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

namespace i2sbseg::builder {
namespace {

// The random crop of a background, size x size.
cv::Mat crop_background(const Background& bg, int size, std::mt19937_64& rng, ImageRecord& rec) {
  const int shortest = std::min(bg.bgr.cols, bg.bgr.rows);
  rec.crop_side = uniform_int(rng, std::min(shortest, size), shortest);
  rec.crop_x = uniform_int(rng, 0, bg.bgr.cols - rec.crop_side);
  rec.crop_y = uniform_int(rng, 0, bg.bgr.rows - rec.crop_side);
  rec.background_flipped = uniform01(rng) < 0.5;
  cv::Mat out;
  cv::resize(bg.bgr(cv::Rect(rec.crop_x, rec.crop_y, rec.crop_side, rec.crop_side)), out, cv::Size(size, size), 0, 0,
             rec.crop_side > size ? cv::INTER_AREA : cv::INTER_LINEAR);
  if (rec.background_flipped) cv::flip(out, out, 1);
  return out;
}

// Picks class (uniformly among the pool's classes, so rare classes keep
// their share), cutout, scale, flip and position for one paste.
Paste draw_paste(const Pool& pool, const std::vector<Cutout>& cutouts, int size, std::mt19937_64& rng) {
  const int k = pool.classes[uniform_int(rng, 0, static_cast<int>(pool.classes.size()) - 1)];
  const std::vector<int>& members = pool.by_class[k];
  Paste p;
  p.cutout = members[uniform_int(rng, 0, static_cast<int>(members.size()) - 1)];
  const cv::Mat& c = cutouts[p.cutout].rgba;
  const double longest = size * (0.25 + 0.65 * uniform01(rng));
  const double scale = longest / std::max(c.cols, c.rows);
  p.width = std::max(1, static_cast<int>(std::lround(c.cols * scale)));
  p.height = std::max(1, static_cast<int>(std::lround(c.rows * scale)));
  p.flipped = uniform01(rng) < 0.5;
  // Up to a quarter of the cutout may hang over each edge.
  p.x = uniform_int(rng, -p.width / 4, size - p.width + p.width / 4);
  p.y = uniform_int(rng, -p.height / 4, size - p.height + p.height / 4);
  return p;
}

}  // namespace

ImageRecord render_image(const DatasetOptions& o, const Pool& pool, const std::vector<Cutout>& cutouts,
                         const std::vector<Background>& backgrounds, int num_classes, std::mt19937_64 rng,
                         cv::Mat& image, cv::Mat& mask) {
  ImageRecord rec;
  rec.background = pool.backgrounds[uniform_int(rng, 0, static_cast<int>(pool.backgrounds.size()) - 1)];
  image = crop_background(backgrounds[rec.background], o.size, rng, rec);
  mask = cv::Mat::zeros(o.size, o.size, CV_8UC1);
  const int n = uniform_int(rng, o.min_cutouts, o.max_cutouts);
  for (int j = 0; j < n; ++j) {
    const Paste p = draw_paste(pool, cutouts, o.size, rng);
    const Cutout& c = cutouts[p.cutout];
    paste_cutout(image, mask, scale_cutout(c.rgba, p.width, p.height, p.flipped), c.class_index, p.x, p.y);
    rec.pastes.push_back(p);
  }
  rec.pixels.assign(num_classes, 0);
  for (int y = 0; y < mask.rows; ++y) {
    const std::uint8_t* m = mask.ptr<std::uint8_t>(y);
    for (int x = 0; x < mask.cols; ++x) ++rec.pixels[m[x]];
  }
  return rec;
}

}  // namespace i2sbseg::builder
