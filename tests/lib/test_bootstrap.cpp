// SPDX-License-Identifier: MIT
// The paired bootstrap of an mIoU difference (bootstrap.h) against a
// float64 reference written here from the per-image K x K matrices, and its
// edge cases: identical rows, a constant improvement, seeds, bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <i2sbseg/bootstrap.h>
#include <i2sbseg/error.h>
#include <i2sbseg/metrics.h>

using i2sbseg::ConfusionMatrix;
using i2sbseg::ImageCounts;
using i2sbseg::MiouDifference;
using i2sbseg::paired_bootstrap_miou;

namespace {

// A K x K matrix as plain counts, rows = truth, columns = prediction.
using Matrix = std::vector<std::vector<double>>;

// Random per-image matrices of `pixels` pixels each; class `absent` (when
// >= 0) never occurs in truth or prediction.
std::vector<Matrix> random_images(int n, int k, int pixels, unsigned seed, int absent = -1) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> cls(0, k - 1), coin(0, 99);
  std::vector<Matrix> out;
  for (int i = 0; i < n; ++i) {
    Matrix m(k, std::vector<double>(k, 0));
    for (int p = 0; p < pixels; ++p) {
      int t = cls(rng), q = coin(rng) < 60 ? t : cls(rng);  // mostly right
      if (t == absent) t = (t + 1) % k;
      if (q == absent) q = (q + 1) % k;
      ++m[t][q];
    }
    out.push_back(m);
  }
  return out;
}

ConfusionMatrix to_confusion(const Matrix& m) {
  const int k = static_cast<int>(m.size());
  std::vector<std::uint8_t> pred, truth;
  for (int t = 0; t < k; ++t)
    for (int p = 0; p < k; ++p)
      for (int c = 0; c < static_cast<int>(m[t][p]); ++c) {
        truth.push_back(static_cast<std::uint8_t>(t));
        pred.push_back(static_cast<std::uint8_t>(p));
      }
  ConfusionMatrix cm(k);
  cm.add(pred.data(), truth.data(), truth.size());
  return cm;
}

ImageCounts to_counts(const std::vector<Matrix>& images) {
  ImageCounts c(static_cast<int>(images.at(0).size()));
  for (const Matrix& m : images) c.add_image(to_confusion(m));
  return c;
}

// mIoU of a summed matrix, classes absent from truth and prediction skipped.
double reference_miou(const Matrix& m) {
  const size_t k = m.size();
  double sum = 0;
  int present = 0;
  for (size_t c = 0; c < k; ++c) {
    double row = 0, col = 0;
    for (size_t j = 0; j < k; ++j) {
      row += m[c][j];
      col += m[j][c];
    }
    const double uni = row + col - m[c][c];
    if (uni == 0) continue;
    sum += m[c][c] / uni;
    ++present;
  }
  return present ? sum / present : 0.0;
}

double reference_miou(const std::vector<Matrix>& images, const std::vector<size_t>& picks) {
  const size_t k = images[0].size();
  Matrix s(k, std::vector<double>(k, 0));
  for (size_t i : picks)
    for (size_t t = 0; t < k; ++t)
      for (size_t p = 0; p < k; ++p) s[t][p] += images[i][t][p];
  return reference_miou(s);
}

double reference_percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * (v.size() - 1);
  const size_t lo = static_cast<size_t>(pos), hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}

// The documented procedure, computed on the K x K matrices in float64.
MiouDifference reference_bootstrap(const std::vector<Matrix>& a, const std::vector<Matrix>& b, int resamples,
                                   std::uint64_t seed) {
  const size_t n = a.size();
  std::vector<size_t> all(n);
  for (size_t i = 0; i < n; ++i) all[i] = i;
  MiouDifference d;
  d.diff = reference_miou(a, all) - reference_miou(b, all);
  d.resamples = resamples;
  std::mt19937_64 rng(seed);
  std::vector<double> diffs;
  for (int r = 0; r < resamples; ++r) {
    std::vector<size_t> picks(n);
    for (size_t& p : picks) p = rng() % n;
    diffs.push_back(reference_miou(a, picks) - reference_miou(b, picks));
  }
  d.lo = reference_percentile(diffs, 0.025);
  d.hi = reference_percentile(diffs, 0.975);
  return d;
}

// `m` with `moved` pixels of each truth class taken from the first wrong
// prediction that has them and counted as right instead.
Matrix improved(Matrix m, int moved) {
  const size_t k = m.size();
  for (size_t t = 0; t < k; ++t)
    for (size_t p = 0; p < k; ++p)
      if (p != t && m[t][p] >= moved) {
        m[t][p] -= moved;
        m[t][t] += moved;
        break;
      }
  return m;
}

}  // namespace

TEST(Bootstrap, MatchesAFloat64Reference) {
  const std::vector<Matrix> a = random_images(40, 5, 300, 1), b = random_images(40, 5, 300, 2);
  for (std::uint64_t seed : {1ull, 7ull}) {
    const MiouDifference got = paired_bootstrap_miou(to_counts(a), to_counts(b), 200, seed);
    const MiouDifference want = reference_bootstrap(a, b, 200, seed);
    EXPECT_NEAR(got.diff, want.diff, 1e-12);
    EXPECT_NEAR(got.lo, want.lo, 1e-12) << seed;
    EXPECT_NEAR(got.hi, want.hi, 1e-12) << seed;
    EXPECT_EQ(got.resamples, 200);
    EXPECT_LT(got.lo, got.hi);
    EXPECT_LE(got.lo, got.diff + 0.05);
    EXPECT_GE(got.hi, got.diff - 0.05);
  }
}

// The point estimate is the difference of ConfusionMatrix::mean_iou of the
// summed matrices, a class absent from every image skipped as there.
TEST(Bootstrap, PointEstimateIsTheDifferenceOfTheSummedMatrices) {
  const std::vector<Matrix> a = random_images(12, 4, 200, 3, 2), b = random_images(12, 4, 200, 4, 2);
  ConfusionMatrix sum_a(4), sum_b(4);
  for (const Matrix& m : a) sum_a.merge(to_confusion(m));
  for (const Matrix& m : b) sum_b.merge(to_confusion(m));
  ASSERT_TRUE(std::isnan(sum_a.iou()[2]));
  EXPECT_DOUBLE_EQ(to_counts(a).mean_iou(), sum_a.mean_iou());
  const MiouDifference d = paired_bootstrap_miou(to_counts(a), to_counts(b), 50, 1);
  EXPECT_DOUBLE_EQ(d.diff, sum_a.mean_iou() - sum_b.mean_iou());
  // Repeated picks count an image twice.
  EXPECT_NEAR(to_counts(a).mean_iou({0, 0, 5}), reference_miou(a, {0, 0, 5}), 1e-15);
}

// Per-image TP/FP/FN come from the image's matrix, so unlabelled truth
// pixels (255) are in none of them: image 1 is the hand-computed example of
// test_metrics (mIoU (1/2 + 1/3 + 1)/3 with its three 255 pixels left out);
// the same image with those pixels dropped gives the same counts.
TEST(Bootstrap, UnlabelledTruthPixelsAreInNoCount) {
  const std::vector<std::uint8_t> truth{0, 0, 255, 1, 1, 255, 2, 2, 255, 0}, pred{0, 1, 2, 1, 0, 1, 2, 2, 0, 0};
  const std::vector<std::uint8_t> kept_truth{0, 0, 1, 1, 2, 2, 0}, kept_pred{0, 1, 1, 0, 2, 2, 0};
  ConfusionMatrix with(3), without(3);
  with.add(pred.data(), truth.data(), truth.size());
  without.add(kept_pred.data(), kept_truth.data(), kept_truth.size());
  ImageCounts a(3), b(3);
  a.add_image(with);
  b.add_image(without);
  EXPECT_DOUBLE_EQ(a.mean_iou(), (0.5 + 1.0 / 3.0 + 1.0) / 3);
  const MiouDifference d = paired_bootstrap_miou(a, b, 20, 1);
  EXPECT_EQ(d.diff, 0.0);
  EXPECT_EQ(d.lo, 0.0);
  EXPECT_EQ(d.hi, 0.0);
}

TEST(Bootstrap, IdenticalRowsDifferByExactlyZero) {
  const ImageCounts a = to_counts(random_images(30, 5, 100, 5));
  const MiouDifference d = paired_bootstrap_miou(a, a, 1000, 3);
  EXPECT_EQ(d.diff, 0.0);
  EXPECT_EQ(d.lo, 0.0);
  EXPECT_EQ(d.hi, 0.0);
}

// Every image of A is B's with some wrong pixels made right: every
// resample favours A, so the interval lies above 0.
TEST(Bootstrap, AConstantImprovementExcludesZero) {
  const std::vector<Matrix> b = random_images(50, 5, 400, 6);
  std::vector<Matrix> a;
  for (const Matrix& m : b) a.push_back(improved(m, 3));
  const MiouDifference d = paired_bootstrap_miou(to_counts(a), to_counts(b), 1000, 1);
  EXPECT_GT(d.diff, 0.0);
  EXPECT_GT(d.lo, 0.0);
  EXPECT_GE(d.hi, d.lo);
  // And the other way round, below 0.
  const MiouDifference r = paired_bootstrap_miou(to_counts(b), to_counts(a), 1000, 1);
  EXPECT_LT(r.hi, 0.0);
}

TEST(Bootstrap, TheSameSeedGivesTheSameInterval) {
  const ImageCounts a = to_counts(random_images(25, 3, 100, 8)), b = to_counts(random_images(25, 3, 100, 9));
  const MiouDifference x = paired_bootstrap_miou(a, b, 300, 42), y = paired_bootstrap_miou(a, b, 300, 42),
                       z = paired_bootstrap_miou(a, b, 300, 43);
  EXPECT_EQ(x.lo, y.lo);
  EXPECT_EQ(x.hi, y.hi);
  EXPECT_EQ(x.diff, z.diff);
  EXPECT_TRUE(x.lo != z.lo || x.hi != z.hi) << "another seed draws other images";
  // One resample: both ends are that resample's difference.
  const MiouDifference one = paired_bootstrap_miou(a, b, 1, 42);
  EXPECT_EQ(one.lo, one.hi);
}

TEST(Bootstrap, RefusesMismatchedRowsAndNoResamples) {
  const ImageCounts a = to_counts(random_images(4, 3, 20, 1)), b = to_counts(random_images(5, 3, 20, 2)),
                    c = to_counts(random_images(4, 4, 20, 3));
  EXPECT_THROW(paired_bootstrap_miou(a, b), i2sbseg::Error);
  EXPECT_THROW(paired_bootstrap_miou(a, c), i2sbseg::Error);
  EXPECT_THROW(paired_bootstrap_miou(ImageCounts(3), ImageCounts(3)), i2sbseg::Error);
  try {
    paired_bootstrap_miou(a, a, 0);
    FAIL() << "no error";
  } catch (const i2sbseg::Error& e) {
    EXPECT_EQ(e.kind(), i2sbseg::ErrorKind::kInvalidOption);
    EXPECT_EQ(e.field(), "bootstrap");
  }
  ImageCounts d(3);
  EXPECT_THROW(d.add_image(ConfusionMatrix(4)), i2sbseg::Error);
  EXPECT_THROW(a.mean_iou({4}), i2sbseg::Error);
}
