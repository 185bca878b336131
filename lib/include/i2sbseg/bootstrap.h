// SPDX-License-Identifier: MIT
// Per-image class counts and a paired bootstrap of the mIoU difference of
// two rows scored on the same images (docs/design.md §4). Torch-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <i2sbseg/metrics.h>

namespace i2sbseg {

// What mIoU needs of each image, kept apart so that images can be
// resampled: per class, true positives, false positives and false
// negatives (3 K numbers an image instead of a K x K matrix; they add up
// over images as the matrix does). Unlabelled truth pixels, which the
// matrix leaves out, are in none of them.
class ImageCounts {
 public:
  explicit ImageCounts(int num_classes);

  int num_classes() const { return k_; }
  std::size_t images() const { return counts_.size() / (3 * static_cast<std::size_t>(k_)); }
  // One image, from its own confusion matrix (throws Error when the class
  // counts differ).
  void add_image(const ConfusionMatrix& image);
  // mIoU as ConfusionMatrix::mean_iou of the images summed; `picks` lists
  // image indices, repeats allowed (empty: every image once).
  double mean_iou(const std::vector<std::size_t>& picks = {}) const;

 private:
  int k_;
  std::vector<std::int64_t> counts_;  // image-major: TP, FP, FN of class 0, then class 1, ...
};

// Row A's mIoU minus row B's over the same images, with a 95 % interval.
struct MiouDifference {
  double diff = 0;  // on every image
  double lo = 0, hi = 0;  // 2.5 % and 97.5 % percentiles of the resampled differences
  int resamples = 0;
};

// Paired bootstrap: `resamples` times, draws images.size() image indices
// with replacement (std::mt19937_64 seeded with `seed`; index = draw mod n,
// whose bias n / 2^64 is nothing next to the noise, and which, unlike
// std::uniform_int_distribution, every standard library computes alike),
// sums both rows' counts over the same draws and takes A's mIoU minus B's.
// Percentiles interpolate linearly between the sorted differences at
// q (resamples − 1). Throws Error kInvalidOption (field "bootstrap") when
// resamples < 1, and Error when the rows' images or classes differ or
// there is no image.
MiouDifference paired_bootstrap_miou(const ImageCounts& a, const ImageCounts& b, int resamples = 1000,
                                     std::uint64_t seed = 1);

}  // namespace i2sbseg
