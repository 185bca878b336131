// SPDX-License-Identifier: MIT
#include <i2sbseg/bootstrap.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include <i2sbseg/error.h>

namespace i2sbseg {

ImageCounts::ImageCounts(int num_classes) : k_(num_classes) {
  if (num_classes < 1 || num_classes > 256) throw Error("image counts: need 1 to 256 classes");
}

void ImageCounts::add_image(const ConfusionMatrix& m) {
  if (m.num_classes() != k_) throw Error("image counts: the image's class count is not the rows'");
  for (int c = 0; c < k_; ++c) {
    std::int64_t truth = 0, predicted = 0;
    for (int j = 0; j < k_; ++j) {
      truth += m.at(c, j);
      predicted += m.at(j, c);
    }
    counts_.push_back(m.at(c, c));
    counts_.push_back(predicted - m.at(c, c));
    counts_.push_back(truth - m.at(c, c));
  }
}

double ImageCounts::mean_iou(const std::vector<std::size_t>& picks) const {
  const std::size_t per = 3 * static_cast<std::size_t>(k_), n = images();
  std::vector<std::int64_t> sum(per, 0);
  auto add = [&](std::size_t image) {
    if (image >= n) throw Error("image counts: image " + std::to_string(image) + " of " + std::to_string(n));
    const std::int64_t* c = counts_.data() + image * per;
    for (std::size_t i = 0; i < per; ++i) sum[i] += c[i];
  };
  if (picks.empty())
    for (std::size_t i = 0; i < n; ++i) add(i);
  for (std::size_t i : picks) add(i);
  // As ConfusionMatrix::mean_iou: a class absent from truth and prediction
  // (TP + FP + FN = 0) does not count.
  double total = 0;
  int present = 0;
  for (int c = 0; c < k_; ++c) {
    const std::int64_t uni = sum[3 * c] + sum[3 * c + 1] + sum[3 * c + 2];
    if (uni == 0) continue;
    total += static_cast<double>(sum[3 * c]) / uni;
    ++present;
  }
  return present ? total / present : 0.0;
}

namespace {

// Linear interpolation between the sorted values at q (size − 1).
double percentile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const std::size_t i = static_cast<std::size_t>(std::floor(pos));
  if (i + 1 >= sorted.size()) return sorted.back();
  return sorted[i] + (pos - static_cast<double>(i)) * (sorted[i + 1] - sorted[i]);
}

}  // namespace

MiouDifference paired_bootstrap_miou(const ImageCounts& a, const ImageCounts& b, int resamples, std::uint64_t seed) {
  if (resamples < 1)
    throw Error(ErrorKind::kInvalidOption,
                "bootstrap resamples " + std::to_string(resamples) + " is not at least 1", "bootstrap");
  if (a.num_classes() != b.num_classes() || a.images() != b.images())
    throw Error("paired bootstrap: the two rows are not scored on the same images and classes");
  const std::size_t n = a.images();
  if (n == 0) throw Error("paired bootstrap: no image");
  MiouDifference d;
  d.diff = a.mean_iou() - b.mean_iou();
  d.resamples = resamples;
  std::mt19937_64 rng(seed);
  std::vector<std::size_t> picks(n);
  std::vector<double> diffs(static_cast<std::size_t>(resamples));
  for (double& v : diffs) {
    for (std::size_t& p : picks) p = static_cast<std::size_t>(rng() % n);
    v = a.mean_iou(picks) - b.mean_iou(picks);
  }
  std::sort(diffs.begin(), diffs.end());
  d.lo = percentile(diffs, 0.025);
  d.hi = percentile(diffs, 0.975);
  return d;
}

}  // namespace i2sbseg
