// SPDX-License-Identifier: MIT
// The builder's --realism draws (paste_cutout_realistic and add_image_noise
// in <i2sbseg/dataset_builder.h> do the work). They come from an RNG of
// their own, so the pastes and masks are those of the plain build.
#pragma once

#include <random>

#include <i2sbseg/dataset_builder.h>

namespace i2sbseg::builder {

// Feathering sigma U(0.5, 1) px and colour fraction U(0.2, 0.5).
PasteLook draw_paste_look(std::mt19937_64& rng);
// The image noise's sigma, U(0, 3) on the 0..255 scale.
double draw_noise_sigma(std::mt19937_64& rng);

}  // namespace i2sbseg::builder
