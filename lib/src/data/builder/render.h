// SPDX-License-Identifier: MIT
// One dataset image: a random background crop with random pastes on it
// (class cutouts and distractors), every draw from the image's own RNG.
#pragma once

#include <random>
#include <vector>

#include <opencv2/core.hpp>

#include <i2sbseg/dataset_builder.h>

#include "data/builder/build_types.h"

namespace i2sbseg::builder {

// Draws and renders into `image` (size x size BGR) and `mask` (class
// indices); returns what was drawn and the pixels per class. With
// `look_rng` (--realism) the pastes are blended by paste_cutout_realistic
// and the image gets noise, all drawn from it: `rng` draws the same
// numbers either way, so the pastes and the mask do not change.
ImageRecord render_image(const DatasetOptions& options, const Pool& pool, const std::vector<Cutout>& cutouts,
                         const std::vector<Background>& backgrounds, int num_classes, std::mt19937_64 rng,
                         std::mt19937_64* look_rng, cv::Mat& image, cv::Mat& mask);

}  // namespace i2sbseg::builder
