// SPDX-License-Identifier: MIT
// What the dataset builder's stages hand each other: the loaded cutouts and
// backgrounds, the train/val pools, and the record of every image.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include <i2sbseg/dataset_builder.h>

namespace i2sbseg::builder {

// Cutouts are kept at up to twice the image size: the largest paste is
// 0.9 x size, so this never enlarges, and memory stays small.
inline int cutout_max_side(int size) { return 2 * size; }

struct Cutout {
  std::string file;     // relative to the cutouts folder, '/'-separated
  int class_index = 0;  // 0 (background) for a distractor
  cv::Mat rgba;
};

inline bool is_distractor(const Cutout& c) { return c.class_index == 0; }

struct Background {
  std::string file;  // the backgrounds folder joined with the relative path
  cv::Mat bgr;
  cv::Mat labels;  // labelled backgrounds: CV_8UC1 class indices (255 unlabelled), bgr's size; else empty
  int split = -1;  // labelled backgrounds: 0 train, 1 val (the folder's own lists); -1: dealt by val_fraction
};

// Cutouts and backgrounds one split may draw from.
struct Pool {
  std::vector<int> cutouts;                // indices into the cutout list
  std::vector<std::vector<int>> by_class;  // class index -> cutout indices
  std::vector<int> classes;                // classes with cutouts, ascending
  std::vector<int> backgrounds;            // indices into the background list
  std::vector<int> distractors;            // indices into the cutout list
};

struct Paste {
  int cutout = 0;
  int x = 0, y = 0, width = 0, height = 0;
  bool flipped = false;
  PasteLook look;  // with --realism: as drawn and applied
};

struct ImageRecord {
  int background = 0;
  int crop_x = 0, crop_y = 0, crop_side = 0;
  bool background_flipped = false;
  std::vector<Paste> pastes;
  std::vector<std::int64_t> pixels;  // per class
  double noise_sigma = 0;            // with --realism
};

}  // namespace i2sbseg::builder
