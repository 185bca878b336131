// SPDX-License-Identifier: MIT
#include <i2sbseg/bridge.h>

#include <ATen/CPUGeneratorImpl.h>

#include <i2sbseg/error.h>

namespace i2sbseg {
namespace {

torch::Tensor to_tensor(const std::vector<double>& v, torch::Device device) {
  // Built in float64, stored as float32 (docs/design.md §3).
  return torch::tensor(v, torch::dtype(torch::kFloat64)).to(torch::kFloat32).to(device);
}

}  // namespace

at::Generator make_generator(std::uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

Bridge::Bridge(const Schedule& schedule, torch::Device device) : schedule_(schedule), device_(device) {
  std_fwd_ = to_tensor(schedule_.std_fwd, device);
  mu_x0_ = to_tensor(schedule_.mu_x0, device);
  mu_x1_ = to_tensor(schedule_.mu_x1, device);
  std_sb_ = to_tensor(schedule_.std_sb, device);
  std::vector<double> levels(schedule_.steps());
  for (int t = 0; t < schedule_.steps(); ++t) levels[t] = schedule_.noise_level(t);
  noise_levels_ = to_tensor(levels, device);
}

torch::Tensor Bridge::noise_like(const torch::Tensor& x, at::Generator* gen) {
  // Contiguous whatever x's memory order: randn_like on a channels-last
  // tensor takes a strided path ~7x slower on the CPU (docs/performance.md).
  if (gen == nullptr) return torch::randn(x.sizes(), x.options().memory_format(torch::MemoryFormat::Contiguous));
  // LibTorch's sampling kernels take the generator's mutex themselves.
  return at::randn(x.sizes(), *gen, torch::dtype(torch::kFloat32)).to(x.device(), x.scalar_type());
}

torch::Tensor Bridge::gather(const torch::Tensor& table, const torch::Tensor& step, int64_t dims) const {
  std::vector<int64_t> shape(static_cast<size_t>(dims), 1);
  shape[0] = step.size(0);
  return table.index_select(0, step.to(device_, torch::kLong)).view(shape);
}

torch::Tensor Bridge::q_sample(const torch::Tensor& step, const torch::Tensor& x0, const torch::Tensor& x1,
                               bool ot_ode, at::Generator* gen) const {
  const int64_t d = x0.dim();
  torch::Tensor xt = gather(mu_x0_, step, d) * x0 + gather(mu_x1_, step, d) * x1;
  if (!ot_ode) xt = xt + gather(std_sb_, step, d) * noise_like(xt, gen);
  return xt;
}

torch::Tensor Bridge::q_sample(const torch::Tensor& step, const torch::Tensor& x0, const torch::Tensor& x1,
                               const torch::Tensor& noise) const {
  return q_sample(step, x0, x1, true) + gather(std_sb_, step, x0.dim()) * noise.to(x0.device(), x0.scalar_type());
}

torch::Tensor Bridge::label(const torch::Tensor& step, const torch::Tensor& xt, const torch::Tensor& x0) const {
  return (xt - x0) / gather(std_fwd_, step, xt.dim());
}

torch::Tensor Bridge::pred_x0(const torch::Tensor& step, const torch::Tensor& xt, const torch::Tensor& net_out,
                              double clamp) const {
  torch::Tensor x0 = xt - gather(std_fwd_, step, xt.dim()) * net_out;
  if (clamp > 0) x0 = x0.clamp(-clamp, clamp);
  return x0;
}

torch::Tensor Bridge::posterior_mean(int prev, int n, const torch::Tensor& x_n, const torch::Tensor& x0,
                                     double& stddev) const {
  if (!(0 <= prev && prev < n && n < steps()))
    throw Error("p_posterior: need 0 <= prev < n < T, got prev=" + std::to_string(prev) + " n=" + std::to_string(n));
  // Coefficients in float64 from the schedule itself, not the float32 tables.
  const double s_n = schedule_.std_fwd[n], s_prev = schedule_.std_fwd[prev];
  const double s_delta = std::sqrt(s_n * s_n - s_prev * s_prev);
  const GaussianProduct g = gaussian_product(s_prev, s_delta);
  stddev = prev > 0 ? std::sqrt(g.var) : 0.0;  // the last step adds no noise
  return g.coef1 * x0 + g.coef2 * x_n;
}

torch::Tensor Bridge::p_posterior(int prev, int n, const torch::Tensor& x_n, const torch::Tensor& x0, bool ot_ode,
                                  at::Generator* gen) const {
  double stddev = 0;
  const torch::Tensor x = posterior_mean(prev, n, x_n, x0, stddev);
  return !ot_ode && stddev > 0 ? x + stddev * noise_like(x, gen) : x;
}

std::vector<torch::Tensor> Bridge::draw_noise(const torch::Tensor& x1, int nfe, at::Generator* gen) const {
  return draw_noise(x1, sampling_steps(schedule_.steps(), nfe), gen);
}

std::vector<torch::Tensor> Bridge::draw_noise(const torch::Tensor& x1, const std::vector<int>& steps,
                                              at::Generator* gen) const {
  std::vector<torch::Tensor> noise;
  // p_posterior adds noise on every step except the last (prev = 0).
  for (size_t i = steps.size() - 1; i > 0; --i)
    if (steps[i - 1] > 0) noise.push_back(noise_like(x1, gen));
  return noise;
}

torch::Tensor Bridge::sample_with_noise(const torch::Tensor& x1, int nfe, const PredictX0& predict_x0,
                                        const std::vector<torch::Tensor>& noise) const {
  return walk(x1, sampling_steps(schedule_.steps(), nfe), predict_x0, noise);
}

torch::Tensor Bridge::walk(const torch::Tensor& x1, const std::vector<int>& steps, const PredictX0& predict_x0,
                           const std::vector<torch::Tensor>& noise) const {
  torch::Tensor xt = x1;
  size_t used = 0;
  for (size_t i = steps.size() - 1; i > 0; --i) {
    const int n = steps[i], prev = steps[i - 1];
    double stddev = 0;
    xt = posterior_mean(prev, n, xt, predict_x0(xt, n), stddev);
    if (stddev > 0 && !noise.empty()) {
      if (used >= noise.size()) throw Error("sample_with_noise: fewer noise tensors than stochastic steps");
      xt = xt + stddev * noise[used++];
    }
  }
  return xt;
}

torch::Tensor Bridge::noise_level(const torch::Tensor& step) const {
  return noise_levels_.index_select(0, step.to(device_, torch::kLong));
}

torch::Tensor Bridge::sample(const torch::Tensor& x1, int nfe, const PredictX0& predict_x0, bool ot_ode,
                             at::Generator* gen) const {
  // The noise drawn ahead is the noise the walk would draw step by step.
  const std::vector<int> steps = sampling_steps(schedule_.steps(), nfe);
  return walk(x1, steps, predict_x0, ot_ode ? std::vector<torch::Tensor>{} : draw_noise(x1, steps, gen));
}

}  // namespace i2sbseg
