// SPDX-License-Identifier: MIT
#include <i2sbseg/schedule.h>

#include <algorithm>
#include <cfenv>
#include <cmath>
#include <numeric>

#include <i2sbseg/error.h>

namespace i2sbseg {
namespace {

std::vector<double> linspace(double a, double b, int n) {
  std::vector<double> v(n);
  if (n == 1) {
    v[0] = a;
    return v;
  }
  // Same form as torch.linspace in float64: a + i * step, last one exact.
  const double step = (b - a) / (n - 1);
  for (int i = 0; i < n; ++i) v[i] = a + step * i;
  v[n - 1] = b;
  return v;
}

// Python's round(): half to even. nearbyint does it in the default rounding
// mode; set it explicitly in case the caller changed it.
long round_half_even(double x) {
  const int saved = std::fegetround();
  std::fesetround(FE_TONEAREST);
  const double r = std::nearbyint(x);
  std::fesetround(saved);
  return static_cast<long>(r);
}

}  // namespace

std::string to_string(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::Symmetric: return "symmetric";
    case ScheduleKind::Linear: return "linear";
    case ScheduleKind::Cosine: return "cosine";
  }
  return "unknown";
}

ScheduleKind schedule_kind_from_string(const std::string& name) {
  if (name == "symmetric") return ScheduleKind::Symmetric;
  if (name == "linear") return ScheduleKind::Linear;
  if (name == "cosine") return ScheduleKind::Cosine;
  throw Error("unknown schedule '" + name + "' (expected symmetric, linear or cosine)");
}

void validate(const ScheduleParams& p) {
  if (p.steps < 2) throw Error("schedule steps must be at least 2, got " + std::to_string(p.steps));
  if (p.steps > 100000) throw Error("schedule steps must be at most 100000, got " + std::to_string(p.steps));
  if (p.kind == ScheduleKind::Symmetric && p.steps % 2 != 0)
    throw Error("the symmetric schedule needs an even number of steps, got " + std::to_string(p.steps));
  if (!(p.beta_min > 0.0) || !std::isfinite(p.beta_min))
    throw Error("schedule beta_min must be a positive number");
  if (!(p.beta_max > 0.0) || !std::isfinite(p.beta_max))
    throw Error("schedule beta_max must be a positive number");
  if (p.beta_max / p.steps < p.beta_min)
    throw Error("schedule beta_max / steps (" + std::to_string(p.beta_max / p.steps) +
                ") must not be below beta_min (" + std::to_string(p.beta_min) + ")");
}

std::vector<double> make_betas(const ScheduleParams& p) {
  validate(p);
  const int T = p.steps;
  const double beta_end = p.beta_max / T;
  switch (p.kind) {
    case ScheduleKind::Symmetric: {
      std::vector<double> b = linspace(std::sqrt(p.beta_min), std::sqrt(beta_end), T);
      for (double& v : b) v *= v;
      std::vector<double> betas(b.begin(), b.begin() + T / 2);
      betas.insert(betas.end(), betas.rbegin(), betas.rend());
      return betas;
    }
    case ScheduleKind::Linear:
      return linspace(p.beta_min, beta_end, T);
    case ScheduleKind::Cosine: {
      const double s = 0.008;
      auto alpha_bar = [&](double t) {
        const double c = std::cos((t / T + s) / (1.0 + s) * M_PI / 2.0);
        return c * c;
      };
      std::vector<double> betas(T);
      for (int t = 0; t < T; ++t) betas[t] = std::min(1.0 - alpha_bar(t + 1) / alpha_bar(t), 0.999);
      const double target = T * (p.beta_min + beta_end) / 2.0;  // the linear schedule's sum
      const double sum = std::accumulate(betas.begin(), betas.end(), 0.0);
      for (double& v : betas) v *= target / sum;
      return betas;
    }
  }
  throw Error("unknown schedule kind");
}

GaussianProduct gaussian_product(double sigma1, double sigma2) {
  const double s1 = sigma1 * sigma1, s2 = sigma2 * sigma2;
  const double denom = s1 + s2;
  return {s2 / denom, s1 / denom, s1 * s2 / denom};
}

Schedule Schedule::make(const ScheduleParams& params) {
  Schedule s;
  s.params = params;
  s.betas = make_betas(params);
  const int T = static_cast<int>(s.betas.size());
  s.std_fwd.resize(T);
  s.std_bwd.resize(T);
  s.mu_x0.resize(T);
  s.mu_x1.resize(T);
  s.std_sb.resize(T);
  double acc = 0.0;
  for (int t = 0; t < T; ++t) {
    acc += s.betas[t];
    s.std_fwd[t] = std::sqrt(acc);
  }
  acc = 0.0;
  for (int t = T - 1; t >= 0; --t) {
    acc += s.betas[t];
    s.std_bwd[t] = std::sqrt(acc);
  }
  for (int t = 0; t < T; ++t) {
    const GaussianProduct g = gaussian_product(s.std_fwd[t], s.std_bwd[t]);
    s.mu_x0[t] = g.coef1;
    s.mu_x1[t] = g.coef2;
    s.std_sb[t] = std::sqrt(g.var);
  }
  return s;
}

double Schedule::noise_level(int t) const {
  const int T = steps();
  if (t < 0 || t >= T) throw Error("schedule index " + std::to_string(t) + " out of range [0, " + std::to_string(T) + ")");
  return (1e-4 + (1.0 - 1e-4) / (T - 1) * t) * T;
}

std::vector<int> space_indices(int num_steps, int count) {
  if (count < 1 || count > num_steps)
    throw Error("space_indices: count " + std::to_string(count) + " must be in [1, " + std::to_string(num_steps) + "]");
  const double stride = count <= 1 ? 1.0 : static_cast<double>(num_steps - 1) / (count - 1);
  std::vector<int> out;
  out.reserve(count);
  double cur = 0.0;
  for (int i = 0; i < count; ++i) {
    out.push_back(static_cast<int>(round_half_even(cur)));
    cur += stride;
  }
  return out;
}

std::vector<int> sampling_steps(int num_steps, int nfe) {
  if (nfe < 1 || nfe >= num_steps)
    throw Error("NFE must be in [1, " + std::to_string(num_steps - 1) + "], got " + std::to_string(nfe));
  return space_indices(num_steps, nfe + 1);
}

}  // namespace i2sbseg
