// SPDX-License-Identifier: MIT
// `i2sbseg schedule`: print the float64 bridge schedule and sampling steps.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include <i2sbseg/schedule.h>

#include "commands.h"

namespace i2sbseg::tools {
namespace {

struct ScheduleOptions {
  int steps = 1000;
  double beta_max = 0.3;
  double beta_min = 1e-4;
  int nfe = 4;
  std::string kind = "symmetric";
  bool json = false;
};

int run_schedule(const ScheduleOptions& o) {
  ScheduleParams p;
  p.kind = schedule_kind_from_string(o.kind);
  p.steps = o.steps;
  p.beta_max = o.beta_max;
  p.beta_min = o.beta_min;
  const Schedule s = Schedule::make(p);
  const std::vector<int> steps = sampling_steps(s.steps(), o.nfe);
  if (o.json) {
    nlohmann::json j;
    j["schedule"] = o.kind;
    j["T"] = s.steps();
    j["beta_max"] = p.beta_max;
    j["beta_min"] = p.beta_min;
    j["nfe"] = o.nfe;
    j["betas"] = s.betas;
    j["std_fwd"] = s.std_fwd;
    j["std_bwd"] = s.std_bwd;
    j["mu_x0"] = s.mu_x0;
    j["mu_x1"] = s.mu_x1;
    j["std_sb"] = s.std_sb;
    j["steps"] = steps;
    std::cout << j.dump() << "\n";  // nlohmann writes doubles with 17 significant digits
    return 0;
  }
  std::printf("%s schedule, T=%d, beta_max=%g, NFE=%d: the sampler visits %zu steps (high to low)\n",
              o.kind.c_str(), s.steps(), p.beta_max, o.nfe, steps.size());
  std::printf("%6s %14s %14s %14s %14s %14s %14s\n", "t", "beta", "std_fwd", "std_bwd", "mu_x0", "mu_x1", "std_sb");
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    const int t = *it;
    std::printf("%6d %14.8g %14.8g %14.8g %14.8g %14.8g %14.8g\n", t, s.betas[t], s.std_fwd[t], s.std_bwd[t],
                s.mu_x0[t], s.mu_x1[t], s.std_sb[t]);
  }
  return 0;
}

}  // namespace

Command add_schedule_command(CLI::App& app) {
  auto o = std::make_shared<ScheduleOptions>();
  CLI::App* sub = app.add_subcommand("schedule", "Print the I2SB noise schedule and the NFE sampling steps");
  sub->add_option("--steps,-T", o->steps, "Number of diffusion steps T")->capture_default_str()->check(CLI::Range(2, 100000));
  sub->add_option("--beta-max", o->beta_max, "I2SB beta_max (last beta = beta_max / T)")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--beta-min", o->beta_min, "First beta")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--nfe", o->nfe, "Number of function evaluations when sampling")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--schedule", o->kind, "Beta schedule")
      ->capture_default_str()
      ->check(CLI::IsMember({"symmetric", "linear", "cosine"}));
  sub->add_flag("--json", o->json, "Print one JSON object with every array (17 significant digits)");
  return {sub, [o] { return run_schedule(*o); }};
}

}  // namespace i2sbseg::tools
