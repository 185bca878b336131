// SPDX-License-Identifier: MIT
// The I2SB bridge on tensors (docs/design.md §3): the float64 schedule stored as
// float32 tensors on the model's device, and the operations of training and
// sampling. Noise is drawn on the CPU when a generator is given, so a seed
// gives the same result on every device.
#pragma once

#include <functional>
#include <vector>

#include <torch/types.h>

#include <i2sbseg/schedule.h>

namespace i2sbseg {

class Bridge {
 public:
  explicit Bridge(const Schedule& schedule, torch::Device device = torch::kCPU);

  const Schedule& schedule() const { return schedule_; }
  int steps() const { return schedule_.steps(); }
  torch::Device device() const { return device_; }

  // step: int64 tensor of shape (N) with one index per batch item.
  // x_t = mu_x0[t] x0 + mu_x1[t] x1 (+ std_sb[t] eps unless ot_ode).
  torch::Tensor q_sample(const torch::Tensor& step, const torch::Tensor& x0, const torch::Tensor& x1,
                         bool ot_ode, at::Generator* gen = nullptr) const;
  // The same with the noise eps given (e.g. drawn for a larger batch).
  torch::Tensor q_sample(const torch::Tensor& step, const torch::Tensor& x0, const torch::Tensor& x1,
                         const torch::Tensor& noise) const;
  // Training target: (x_t - x0) / std_fwd[t].
  torch::Tensor label(const torch::Tensor& step, const torch::Tensor& xt, const torch::Tensor& x0) const;
  // x0 estimate from the network output: x_t - std_fwd[t] net_out, optionally clamped to [-clamp, clamp].
  torch::Tensor pred_x0(const torch::Tensor& step, const torch::Tensor& xt, const torch::Tensor& net_out,
                        double clamp = 0.0) const;
  // One reverse step from index n to prev < n given an x0 estimate.
  torch::Tensor p_posterior(int prev, int n, const torch::Tensor& x_n, const torch::Tensor& x0,
                            bool ot_ode, at::Generator* gen = nullptr) const;
  // The network's time input for each step index: linspace(1e-4, 1, T)[t] * T.
  torch::Tensor noise_level(const torch::Tensor& step) const;

  // Predicts x0 from (x_t, step index); the sampler calls it NFE times.
  using PredictX0 = std::function<torch::Tensor(const torch::Tensor& xt, int step)>;
  // Reverse walk from x1 over sampling_steps(T, nfe), high to low; returns
  // the final x_t (at index 0).
  torch::Tensor sample(const torch::Tensor& x1, int nfe, const PredictX0& predict_x0, bool ot_ode,
                       at::Generator* gen = nullptr) const;

  // The noise sample() draws for x1 (one tensor per stochastic step, in the
  // order it uses them, from `gen` on the CPU), so that callers can draw it
  // ahead, e.g. into the static buffers of a captured CUDA graph.
  std::vector<torch::Tensor> draw_noise(const torch::Tensor& x1, int nfe, at::Generator* gen) const;
  // sample() with that noise given instead of drawn (empty: the OT-ODE).
  torch::Tensor sample_with_noise(const torch::Tensor& x1, int nfe, const PredictX0& predict_x0,
                                  const std::vector<torch::Tensor>& noise) const;

  // Standard normal noise shaped like x: from `gen` on the CPU if given.
  static torch::Tensor noise_like(const torch::Tensor& x, at::Generator* gen);

 private:
  torch::Tensor gather(const torch::Tensor& table, const torch::Tensor& step, int64_t dims) const;
  // draw_noise and sample_with_noise over sampling_steps(T, nfe), computed
  // once by the caller.
  std::vector<torch::Tensor> draw_noise(const torch::Tensor& x1, const std::vector<int>& steps,
                                        at::Generator* gen) const;
  torch::Tensor walk(const torch::Tensor& x1, const std::vector<int>& steps, const PredictX0& predict_x0,
                     const std::vector<torch::Tensor>& noise) const;
  // The posterior mean of a reverse step from n to prev and its noise scale
  // (0 on the last step); throws unless 0 <= prev < n < T.
  torch::Tensor posterior_mean(int prev, int n, const torch::Tensor& x_n, const torch::Tensor& x0,
                               double& stddev) const;

  Schedule schedule_;
  torch::Device device_;
  torch::Tensor std_fwd_, mu_x0_, mu_x1_, std_sb_, noise_levels_;
};

// A CPU generator seeded with `seed` (version differences live in the library).
at::Generator make_generator(std::uint64_t seed);

}  // namespace i2sbseg
