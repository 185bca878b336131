// SPDX-License-Identifier: MIT
// `i2sbseg pack DATA --out FILE [--jpeg-quality Q]`: a dataset folder as one
// packed file, which `train` and `eval` read on machines without OpenCV (the
// GPU machine); with Q, images as JPEG and masks run-length coded, about a
// tenth of the raw size (data/default: 6000 images in ~30 MB).
#include <cstdio>
#include <map>
#include <string>

#include <i2sbseg/dataset.h>
#include <i2sbseg/error.h>

#include "commands.h"

namespace i2sbseg::tools {
namespace {

struct PackOptions {
  std::string data, out;
  int max_per_split = 0;  // 0: every image
  int jpeg_quality = 0;   // 0: raw pixels
};

int run_pack(const PackOptions& o) {
  if (o.max_per_split < 0)
    throw Error(ErrorKind::kInvalidOption, "--max-per-split is " + std::to_string(o.max_per_split) + "; 0 (all) or more",
                "max_per_split");
  if (o.jpeg_quality < 0 || o.jpeg_quality > 100)
    throw Error(ErrorKind::kInvalidOption, "--jpeg-quality is " + std::to_string(o.jpeg_quality) + "; 1..100, or 0 for raw pixels",
                "jpeg_quality");
  // Each image keeps its split: the train/val lists say which it is in.
  const Dataset train = Dataset::load(o.data, "train"), val = Dataset::load(o.data, "val");
  Dataset packed;
  packed.set_classes(train.classes());
  std::map<std::string, int> kept;
  for (const auto& [name, d] : {std::pair<std::string, const Dataset*>{"train", &train}, {"val", &val}}) {
    for (std::int64_t i = 0; i < d->size(); ++i) {
      if (o.max_per_split > 0 && kept[name] >= o.max_per_split) break;
      packed.add(d->name(i), d->image(i), d->mask(i), name);
      ++kept[name];
    }
  }
  packed.save_packed(o.out, o.jpeg_quality);
  std::printf("%s: %d train + %d val images of %s, %zu classes%s\n", o.out.c_str(), kept["train"], kept["val"],
              o.data.c_str(), train.classes().size(),
              o.jpeg_quality > 0 ? (", JPEG quality " + std::to_string(o.jpeg_quality)).c_str() : "");
  return 0;
}

}  // namespace

Command add_pack_command(CLI::App& app) {
  auto o = std::make_shared<PackOptions>();
  CLI::App* sub = app.add_subcommand(
      "pack", "Write a dataset folder's train and val splits as one packed file (for machines without OpenCV)");
  sub->add_option("data", o->data, "Dataset folder with train.txt and val.txt")->required();
  sub->add_option("--out", o->out, "Packed dataset file to write (atomically)")->required();
  sub->add_option("--max-per-split", o->max_per_split, "Keep the first N images of each split (0: all)");
  sub->add_option("--jpeg-quality", o->jpeg_quality,
                  "Images as JPEG of this quality (1..100) and masks run-length coded (lossless): about a tenth of "
                  "the size, for carrying to a GPU machine; reading it needs libjpeg (0: raw pixels)");
  return {sub, [o] { return run_pack(*o); }};
}

}  // namespace i2sbseg::tools
