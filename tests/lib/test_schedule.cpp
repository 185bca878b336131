// SPDX-License-Identifier: MIT
// The float64 schedule against the values of the I2SB reference and closed forms.
#include <gtest/gtest.h>

#include <cmath>

#include <i2sbseg/error.h>
#include <i2sbseg/schedule.h>

using namespace i2sbseg;

namespace {

Schedule symmetric(int T = 1000, double beta_max = 0.3) {
  ScheduleParams p;
  p.steps = T;
  p.beta_max = beta_max;
  return Schedule::make(p);
}

// sum_{i<n} (a + i d)^2 in closed form.
long double sum_of_squares(long double a, long double d, long double n) {
  return n * a * a + a * d * n * (n - 1) + d * d * (n - 1) * n * (2 * n - 1) / 6;
}

}  // namespace

TEST(Schedule, SymmetricMatchesI2sbReferenceValues) {
  const Schedule s = symmetric();
  ASSERT_EQ(s.steps(), 1000);
  EXPECT_NEAR(s.betas[0], 1e-4, 1e-15);
  EXPECT_NEAR(s.betas[499], 1.8650245e-4, 1e-11);
  EXPECT_DOUBLE_EQ(s.betas[499], s.betas[500]);
  EXPECT_NEAR(s.std_fwd[999], 0.37553595, 1e-8);
  const auto max_it = std::max_element(s.std_sb.begin(), s.std_sb.end());
  EXPECT_NEAR(*max_it, 0.18789193, 1e-8);
  EXPECT_EQ(max_it - s.std_sb.begin(), 499);
}

TEST(Schedule, SymmetricIsAMirroredSquaredLinspace) {
  const int T = 1000;
  const Schedule s = symmetric(T);
  for (int t = 0; t < T; ++t) EXPECT_DOUBLE_EQ(s.betas[t], s.betas[T - 1 - t]) << t;
  for (int t = 1; t < T / 2; ++t) EXPECT_GT(s.betas[t], s.betas[t - 1]) << t;
  // Half the schedule sums to a sum of squares of an arithmetic sequence.
  const long double a = std::sqrt(1e-4L), d = (std::sqrt(0.3L / T) - a) / (T - 1);
  const long double half = sum_of_squares(a, d, T / 2);
  EXPECT_NEAR(s.std_fwd[T / 2 - 1] * s.std_fwd[T / 2 - 1], static_cast<double>(half), 1e-15);
  EXPECT_NEAR(s.std_fwd[T - 1] * s.std_fwd[T - 1], static_cast<double>(2 * half), 1e-15);
  // By symmetry the backward std mirrors the forward one.
  for (int t = 0; t < T; ++t) EXPECT_NEAR(s.std_bwd[t], s.std_fwd[T - 1 - t], 1e-14) << t;
}

TEST(Schedule, ForwardAndBackwardStdAreCumulativeSums) {
  const Schedule s = symmetric(200, 0.5);
  long double fwd = 0, total = 0;
  for (double b : s.betas) total += b;
  for (int t = 0; t < s.steps(); ++t) {
    fwd += s.betas[t];
    EXPECT_NEAR(s.std_fwd[t], std::sqrt(static_cast<double>(fwd)), 1e-15);
    // sigma-bar_t^2 = total - sigma_t^2 + beta_t (both include step t).
    EXPECT_NEAR(s.std_bwd[t] * s.std_bwd[t], static_cast<double>(total - fwd + s.betas[t]), 1e-15);
  }
}

TEST(Schedule, GaussianProductCoefficients) {
  const Schedule s = symmetric();
  for (int t = 0; t < s.steps(); t += 37) {
    const long double f2 = static_cast<long double>(s.std_fwd[t]) * s.std_fwd[t];
    const long double b2 = static_cast<long double>(s.std_bwd[t]) * s.std_bwd[t];
    EXPECT_NEAR(s.mu_x0[t], static_cast<double>(b2 / (f2 + b2)), 1e-15);
    EXPECT_NEAR(s.mu_x1[t], static_cast<double>(f2 / (f2 + b2)), 1e-15);
    EXPECT_NEAR(s.std_sb[t], std::sqrt(static_cast<double>(f2 * b2 / (f2 + b2))), 1e-15);
  }
  for (int t = 0; t < s.steps(); ++t) EXPECT_NEAR(s.mu_x0[t] + s.mu_x1[t], 1.0, 1e-15) << t;
  const GaussianProduct g = gaussian_product(3.0, 4.0);
  EXPECT_DOUBLE_EQ(g.coef1, 16.0 / 25.0);
  EXPECT_DOUBLE_EQ(g.coef2, 9.0 / 25.0);
  EXPECT_DOUBLE_EQ(g.var, 144.0 / 25.0);
}

TEST(Schedule, LinearHasClosedFormCumulativeVariance) {
  ScheduleParams p;
  p.kind = ScheduleKind::Linear;
  p.steps = 500;
  p.beta_max = 0.3;
  const Schedule s = Schedule::make(p);
  const long double a = 1e-4L, d = (0.3L / 500 - a) / 499;
  EXPECT_NEAR(s.betas.front(), 1e-4, 1e-18);
  EXPECT_NEAR(s.betas.back(), 0.3 / 500, 1e-18);
  for (int t : {0, 1, 100, 499}) {
    const long double sum = (t + 1) * a + d * t * (t + 1) / 2;
    EXPECT_NEAR(s.std_fwd[t] * s.std_fwd[t], static_cast<double>(sum), 1e-15) << t;
  }
}

TEST(Schedule, CosineKeepsShapeAndTotalVariance) {
  ScheduleParams p;
  p.kind = ScheduleKind::Cosine;
  const Schedule s = Schedule::make(p);
  // Same total as the linear schedule with the same endpoints: T (b0 + bT) / 2.
  EXPECT_NEAR(s.std_fwd.back() * s.std_fwd.back(), 1000 * (1e-4 + 3e-4) / 2, 1e-12);
  for (int t = 1; t < s.steps(); ++t) EXPECT_GE(s.betas[t], s.betas[t - 1]) << t;
  // Nichol & Dhariwal: beta_t = 1 - abar(t+1)/abar(t), rescaled; check a ratio.
  auto abar = [](double t) {
    const double c = std::cos((t / 1000 + 0.008) / 1.008 * M_PI / 2);
    return c * c;
  };
  const double r = (1 - abar(501) / abar(500)) / (1 - abar(101) / abar(100));
  EXPECT_NEAR(s.betas[500] / s.betas[100], r, 1e-9);
}

TEST(Schedule, SpaceIndicesRoundHalfToEvenLikePython) {
  EXPECT_EQ(space_indices(1000, 5), (std::vector<int>{0, 250, 500, 749, 999}));
  EXPECT_EQ(space_indices(1000, 11), (std::vector<int>{0, 100, 200, 300, 400, 500, 599, 699, 799, 899, 999}));
  EXPECT_EQ(space_indices(1000, 2), (std::vector<int>{0, 999}));
  EXPECT_EQ(space_indices(1000, 1), (std::vector<int>{0}));
  // Python: round(2.5) == 2 and round(3.5) == 4 (std::round gives 3 and 4).
  EXPECT_EQ(space_indices(6, 3), (std::vector<int>{0, 2, 5}));
  EXPECT_EQ(space_indices(8, 3), (std::vector<int>{0, 4, 7}));
  EXPECT_EQ(sampling_steps(1000, 4), space_indices(1000, 5));
  EXPECT_THROW(space_indices(10, 11), Error);
  EXPECT_THROW(space_indices(10, 0), Error);
  EXPECT_THROW(sampling_steps(1000, 0), Error);
  EXPECT_THROW(sampling_steps(1000, 1000), Error);
}

TEST(Schedule, NoiseLevelIsScaledLinspace) {
  const Schedule s = symmetric();
  EXPECT_NEAR(s.noise_level(0), 1e-4 * 1000, 1e-12);
  EXPECT_NEAR(s.noise_level(999), 1000.0, 1e-9);
  EXPECT_NEAR(s.noise_level(500), (1e-4 + (1 - 1e-4) * 500 / 999) * 1000, 1e-9);
  EXPECT_THROW(s.noise_level(1000), Error);
}

TEST(Schedule, RejectsImpossibleParameters) {
  ScheduleParams p;
  p.steps = 999;  // symmetric needs an even T
  EXPECT_THROW(Schedule::make(p), Error);
  p.steps = 1;
  p.kind = ScheduleKind::Linear;
  EXPECT_THROW(Schedule::make(p), Error);
  p.steps = 1000;
  p.beta_max = -1;
  EXPECT_THROW(Schedule::make(p), Error);
  p.beta_max = 0.3;
  p.beta_min = 1.0;  // above beta_max / T
  EXPECT_THROW(Schedule::make(p), Error);
  EXPECT_THROW(schedule_kind_from_string("quadratic"), Error);
  EXPECT_EQ(schedule_kind_from_string("cosine"), ScheduleKind::Cosine);
}
