// SPDX-License-Identifier: MIT
// Each subcommand of the `i2sbseg` tool registers itself on the app.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace i2sbseg::tools {

// A registered subcommand and what runs it once it was parsed.
struct Command {
  CLI::App* app;
  std::function<int()> run;
};

Command add_schedule_command(CLI::App& app);
Command add_info_command(CLI::App& app);
Command add_train_command(CLI::App& app);
Command add_eval_command(CLI::App& app);
Command add_bench_command(CLI::App& app);
Command add_pack_command(CLI::App& app);
#ifdef I2SBSEG_HAVE_OPENCV
Command add_make_dataset_command(CLI::App& app);
Command add_flicker_command(CLI::App& app);
Command add_make_clip_command(CLI::App& app);
#endif

}  // namespace i2sbseg::tools
