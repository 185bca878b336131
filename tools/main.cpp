// SPDX-License-Identifier: MIT
// `i2sbseg`: one binary, git-style subcommands.
#include <iostream>
#include <vector>

#include <i2sbseg/error.h>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"i2sbseg: latent Image-to-Image Schroedinger Bridge segmentation (LR video -> HR class overlays)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("i2sbseg ") + I2SBSEG_VERSION);

  const std::vector<i2sbseg::tools::Command> commands{
      i2sbseg::tools::add_schedule_command(app),
      i2sbseg::tools::add_info_command(app),
      i2sbseg::tools::add_train_command(app),
      i2sbseg::tools::add_eval_command(app),
      i2sbseg::tools::add_bench_command(app),
      i2sbseg::tools::add_pack_command(app),
#ifdef I2SBSEG_HAVE_OPENCV
      i2sbseg::tools::add_make_dataset_command(app),
      i2sbseg::tools::add_flicker_command(app),
      i2sbseg::tools::add_make_clip_command(app),
#endif
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (const auto& c : commands)
      if (c.app->parsed()) return c.run();
  } catch (const i2sbseg::Error& e) {
    std::cerr << "i2sbseg: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "i2sbseg: internal error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
