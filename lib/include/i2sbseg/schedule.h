// SPDX-License-Identifier: MIT
// The I2SB noise schedule, computed once in float64 (docs/design.md §3).
// Torch-free so that tools and tests can use it without LibTorch headers.
#pragma once

#include <string>
#include <vector>

namespace i2sbseg {

enum class ScheduleKind { Symmetric, Linear, Cosine };

std::string to_string(ScheduleKind kind);
// Throws Error naming the value if it is not symmetric, linear or cosine.
ScheduleKind schedule_kind_from_string(const std::string& name);

struct ScheduleParams {
  ScheduleKind kind = ScheduleKind::Symmetric;
  int steps = 1000;        // T
  double beta_max = 0.3;   // I2SB's beta_max; the last beta is beta_max / T
  double beta_min = 1e-4;  // the first beta
};

// Throws Error if the parameters cannot make a schedule (T < 2, T odd for
// symmetric, betas not positive, beta_min > beta_max / T, ...).
void validate(const ScheduleParams& params);

// The T betas.
//  symmetric: b = linspace(sqrt(beta_min), sqrt(beta_max/T), T)^2, then
//             concat(b[:T/2], flip(b[:T/2])) (I2SB's default).
//  linear:    linspace(beta_min, beta_max/T, T) (DDPM's shape at I2SB's scale).
//  cosine:    Nichol & Dhariwal's betas (s = 0.008, clipped at 0.999),
//             rescaled so that their sum equals the linear schedule's sum:
//             the bridge's total variance std_fwd[T-1]^2 is then comparable
//             across kinds, while the shape (slow start, fast end) is kept.
std::vector<double> make_betas(const ScheduleParams& params);

// (coef1, coef2, var) of the product of N(x1, s1^2) and N(x2, s2^2):
// coef1 = s2^2/(s1^2+s2^2), coef2 = s1^2/(s1^2+s2^2), var = s1^2 s2^2/(s1^2+s2^2).
struct GaussianProduct {
  double coef1;
  double coef2;
  double var;
};
GaussianProduct gaussian_product(double sigma1, double sigma2);

struct Schedule {
  ScheduleParams params;
  std::vector<double> betas;
  std::vector<double> std_fwd;  // sigma_t = sqrt(cumsum(betas)[t])
  std::vector<double> std_bwd;  // sigma-bar_t = sqrt(flip(cumsum(flip(betas)))[t])
  std::vector<double> mu_x0;    // coef1 of product(std_fwd, std_bwd)
  std::vector<double> mu_x1;    // coef2
  std::vector<double> std_sb;   // sqrt(var)

  static Schedule make(const ScheduleParams& params);
  int steps() const { return static_cast<int>(betas.size()); }
  // The network's time input: linspace(1e-4, 1, T)[t] * T.
  double noise_level(int t) const;
};

// I2SB's space_indices: `count` indices spread over [0, num_steps-1],
// accumulated in double and rounded half to even like Python's round().
// space_indices(1000, 5) == {0, 250, 500, 749, 999}.
std::vector<int> space_indices(int num_steps, int count);

// The indices the sampler visits for a given number of function
// evaluations: space_indices(T, nfe + 1). Throws Error unless 1 <= nfe < T.
std::vector<int> sampling_steps(int num_steps, int nfe);

}  // namespace i2sbseg
