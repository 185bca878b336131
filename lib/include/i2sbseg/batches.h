// SPDX-License-Identifier: MIT
// Training batches: random HR crops with flips and colour jitter, the LR
// input made from them (area downscale by the scale factor), class
// weights that keep rare classes from vanishing, and the cross-entropy
// over them that skips unlabelled pixels (docs/design.md §4).
#pragma once

#include <vector>

#include <torch/types.h>

#include <i2sbseg/dataset.h>

namespace i2sbseg {

struct Batch {
  torch::Tensor hr;    // (N, 3, crop, crop) float RGB in [0, 1]
  torch::Tensor lr;    // (N, 3, crop/s, crop/s) float RGB in [0, 1]
  torch::Tensor mask;  // (N, crop, crop) int64 class indices, kIgnoreIndex where unlabelled
};

struct BatchOptions {
  int batch = 8;
  int crop = 128;         // HR crop side; a multiple of the scale factor
  int scale = 4;
  bool augment = true;    // flips, colour jitter and random crop scale
  // With augment: half the crops blurred (Gaussian, sigma 0.3-1.5 px), so
  // the classifier leans less on fine textures, which do not carry over to
  // backgrounds it never saw.
  bool blur = false;
  // With augment: wider zoom (0.6x-1.5x), rotations up to 20 degrees and
  // 15 % of crops in grey, for classes that must hold beyond the few
  // training instances' colours and poses.
  bool strong = false;
};

// Draws a batch of random images; images smaller than the crop are padded
// (mask 0). Masks are resampled nearest-neighbour (zoom, rotation), so
// every mask value is one of the image's own or 0 (padding, corners turned
// in): kIgnoreIndex stays kIgnoreIndex and never comes from a class.
Batch sample_batch(const Dataset& data, const BatchOptions& options, at::Generator& gen);

// A batch of the images `indices` (options.batch is ignored). The random
// augmentation of every slot is drawn from `gen` in slot order, but only the
// slots [first, first + count) are built: ranks of a data-parallel job that
// share `gen` and the indices of the whole step each build their own part
// of exactly the batch one process would (count 0: up to the end).
Batch make_batch(const Dataset& data, const BatchOptions& options, at::Generator& gen,
                 const std::vector<std::int64_t>& indices, std::size_t first = 0, std::size_t count = 0);

// The LR image a camera at 1/scale resolution would see: area averaging.
torch::Tensor degrade(const torch::Tensor& hr, int scale);

// Cross-entropy weights ~ 1/sqrt(pixel frequency), normalised to mean 1 over
// the classes present; absent classes get weight 0. Unlabelled pixels
// (kIgnoreIndex) count in no class.
torch::Tensor class_weights(const Dataset& data);

// The class-weighted cross-entropy of logits (N, K, H, W) against a mask
// (N, H, W) int64 of class indices or kIgnoreIndex, with weights (K): over
// the labelled pixels only, `sum` = sum of w[truth] * CE and `weight` =
// sum of w[truth]. Unlabelled pixels add nothing to either, and their
// logits get no gradient.
struct CrossEntropyTerms {
  torch::Tensor sum;  // a scalar, with the logits' gradient
  double weight = 0;
};
CrossEntropyTerms cross_entropy_terms(const torch::Tensor& logits, const torch::Tensor& mask,
                                      const torch::Tensor& class_weights);

// The training loss of one process: sum / weight of the terms above (the
// mean cross-entropy over labelled pixels with weights of 1); 0, with a
// zero gradient, when no pixel carries weight (every pixel unlabelled).
torch::Tensor segmentation_loss(const torch::Tensor& logits, const torch::Tensor& mask,
                                const torch::Tensor& class_weights);

// A whole image (H, W, 3) uint8 -> (1, 3, H, W) float in [0, 1].
torch::Tensor image_to_float(const torch::Tensor& hwc_uint8);

}  // namespace i2sbseg
