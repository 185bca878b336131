// SPDX-License-Identifier: MIT
// Bridge operations on tensors against float64 values computed here from the
// betas alone, and the sampler against an oracle that returns the true x0.
#include <gtest/gtest.h>

#include <cmath>

#include <torch/torch.h>

#include <i2sbseg/bridge.h>
#include <i2sbseg/error.h>

using namespace i2sbseg;

namespace {

Schedule make_schedule() { return Schedule::make(ScheduleParams{}); }

// sigma_t^2 from the betas, in long double.
long double var_fwd(const Schedule& s, int t) {
  long double acc = 0;
  for (int i = 0; i <= t; ++i) acc += s.betas[i];
  return acc;
}

torch::Tensor steps_of(int64_t n, int t) { return torch::full({n}, t, torch::kLong); }

}  // namespace

TEST(Bridge, TablesAreTheFloat64ScheduleInFloat32) {
  const Schedule s = make_schedule();
  const Bridge b(s);
  const torch::Tensor all = torch::arange(s.steps(), torch::kLong);
  const torch::Tensor lv = b.noise_level(all);
  EXPECT_EQ(lv.scalar_type(), torch::kFloat32);
  for (int t : {0, 1, 499, 998, 999}) EXPECT_FLOAT_EQ(lv[t].item<float>(), static_cast<float>(s.noise_level(t)));
}

TEST(Bridge, QSampleOtOdeIsTheExactInterpolation) {
  const Schedule s = make_schedule();
  const Bridge b(s);
  const torch::Tensor x0 = torch::randn({3, 2, 4, 4}), x1 = torch::randn({3, 2, 4, 4});
  const torch::Tensor step = torch::tensor({0, 499, 999}, torch::kLong);
  const torch::Tensor xt = b.q_sample(step, x0, x1, /*ot_ode=*/true);
  for (int i = 0; i < 3; ++i) {
    const int t = step[i].item<int>();
    const long double f2 = var_fwd(s, t), total = var_fwd(s, 999);
    const long double b2 = total - f2 + s.betas[t];
    const double mu0 = static_cast<double>(b2 / (f2 + b2)), mu1 = static_cast<double>(f2 / (f2 + b2));
    EXPECT_TRUE(torch::allclose(xt[i], mu0 * x0[i] + mu1 * x1[i], 1e-5, 1e-6)) << t;
  }
}

TEST(Bridge, QSampleMeanAndVarianceMatchTheFormula) {
  const Schedule s = make_schedule();
  const Bridge b(s);
  at::Generator gen = make_generator(7);
  const int64_t n = 400000;
  const torch::Tensor x0 = torch::full({1, n}, 0.8), x1 = torch::full({1, n}, -0.4);
  for (int t : {100, 499, 900}) {
    const torch::Tensor xt = b.q_sample(steps_of(1, t), x0, x1, false, &gen).to(torch::kDouble);
    const double mean = 0.8 * s.mu_x0[t] - 0.4 * s.mu_x1[t];
    const double var = s.std_sb[t] * s.std_sb[t];
    // Standard errors: sqrt(var/n) for the mean, var*sqrt(2/n) for the variance; allow 5 of them.
    EXPECT_NEAR(xt.mean().item<double>(), mean, 5 * std::sqrt(var / n)) << t;
    EXPECT_NEAR(xt.var().item<double>(), var, 5 * var * std::sqrt(2.0 / n)) << t;
  }
}

TEST(Bridge, LabelAndPredX0AreInverse) {
  const Schedule s = make_schedule();
  const Bridge b(s);
  const torch::Tensor x0 = torch::randn({2, 3, 5, 5}), x1 = torch::randn({2, 3, 5, 5});
  const torch::Tensor step = torch::tensor({10, 700}, torch::kLong);
  const torch::Tensor xt = b.q_sample(step, x0, x1, false);
  const torch::Tensor label = b.label(step, xt, x0);
  EXPECT_TRUE(torch::allclose(label[1], (xt[1] - x0[1]) / s.std_fwd[700], 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(b.pred_x0(step, xt, label), x0, 1e-5, 1e-5));
  const torch::Tensor clamped = b.pred_x0(step, xt, label * 100, 1.0);
  EXPECT_LE(clamped.abs().max().item<float>(), 1.0f);
}

TEST(Bridge, PosteriorMatchesGaussianProductOfFwdStds) {
  const Schedule s = make_schedule();
  const Bridge b(s);
  const torch::Tensor x0 = torch::randn({4, 6}), xn = torch::randn({4, 6});
  const int prev = 250, n = 500;
  const long double sp2 = var_fwd(s, prev), sd2 = var_fwd(s, n) - var_fwd(s, prev);
  const double a = static_cast<double>(sd2 / (sp2 + sd2)), c = static_cast<double>(sp2 / (sp2 + sd2));
  const torch::Tensor det = b.p_posterior(prev, n, xn, x0, /*ot_ode=*/true);
  EXPECT_TRUE(torch::allclose(det, a * x0 + c * xn, 1e-5, 1e-6));
  // To index 0 nothing is added even without ot_ode.
  EXPECT_TRUE(torch::equal(b.p_posterior(0, n, xn, x0, false), b.p_posterior(0, n, xn, x0, true)));
  EXPECT_FALSE(torch::equal(b.p_posterior(prev, n, xn, x0, false), det));
  EXPECT_THROW(b.p_posterior(n, n, xn, x0, true), Error);
}

TEST(Bridge, OtOdeSamplerWithOracleEndsAtX0) {
  // With an oracle, each step maps x_n - x0 to (sigma_prev^2 / sigma_n^2)(x_n - x0);
  // the product telescopes to sigma_0^2 / sigma_{T-1}^2 (about 7e-4): the
  // walk lands on x0 up to that factor of the initial gap, for every NFE.
  const Schedule s = make_schedule();
  const Bridge b(s);
  const torch::Tensor x0 = torch::randn({2, 3, 8, 8}), x1 = x0 + torch::randn({2, 3, 8, 8});
  const double residual = static_cast<double>(var_fwd(s, 0) / var_fwd(s, 999));
  for (int nfe : {1, 2, 4, 10, 999}) {
    int calls = 0;
    const torch::Tensor out = b.sample(x1, nfe, [&](const torch::Tensor&, int) { ++calls; return x0; }, true);
    EXPECT_EQ(calls, nfe);
    EXPECT_TRUE(torch::allclose(out, x0 + residual * (x1 - x0), 1e-5, 1e-6)) << nfe;
    EXPECT_LT((out - x0).abs().max().item<float>(), 1e-2f);
  }
}

TEST(Bridge, StochasticSamplerWithOracleEndsAtX0WithinNoise) {
  // Deviation d = x - x0 evolves as d_prev = c d_n + sqrt(var) eps (no eps
  // into index 0): its final mean and variance follow in closed form.
  const Schedule s = make_schedule();
  const Bridge b(s);
  const int64_t n = 200000;
  const torch::Tensor x0 = torch::zeros({1, n}), x1 = torch::ones({1, n});
  const int nfe = 4;
  const std::vector<int> steps = sampling_steps(1000, nfe);
  long double mean = 1, var = 0;
  for (size_t i = steps.size() - 1; i > 0; --i) {
    const long double sp2 = var_fwd(s, steps[i - 1]), sd2 = var_fwd(s, steps[i]) - sp2;
    const long double c = sp2 / (sp2 + sd2);
    mean *= c;
    var = c * c * var + (steps[i - 1] > 0 ? sp2 * sd2 / (sp2 + sd2) : 0);
  }
  at::Generator gen = make_generator(3);
  const torch::Tensor out = b.sample(x1, nfe, [&](const torch::Tensor&, int) { return x0; }, false, &gen);
  const double m = static_cast<double>(mean), v = static_cast<double>(var);
  EXPECT_NEAR(out.mean().item<double>(), m, 5 * std::sqrt(v / n) + 1e-7);
  EXPECT_NEAR(out.to(torch::kDouble).var().item<double>(), v, 5 * v * std::sqrt(2.0 / n) + 1e-12);
  EXPECT_LT(out.abs().max().item<float>(), 6 * std::sqrt(v) + 1e-3);
}

TEST(Bridge, SeededNoiseIsReproducible) {
  const Bridge b(make_schedule());
  const torch::Tensor x0 = torch::zeros({1, 100}), x1 = torch::ones({1, 100});
  at::Generator g1 = make_generator(42), g2 = make_generator(42), g3 = make_generator(43);
  const auto oracle = [&](const torch::Tensor&, int) { return x0; };
  const torch::Tensor a = b.sample(x1, 4, oracle, false, &g1);
  const torch::Tensor c = b.sample(x1, 4, oracle, false, &g2);
  const torch::Tensor d = b.sample(x1, 4, oracle, false, &g3);
  EXPECT_TRUE(torch::equal(a, c));
  EXPECT_FALSE(torch::equal(a, d));
}
