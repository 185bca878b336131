// SPDX-License-Identifier: MIT
// `i2sbseg flicker --model M [--baseline B] --input-pattern P --count N`: how
// much a model's class maps change from one frame of a clip to the next,
// without labels. Each frame is segmented as the element segments it (the
// same seed every frame); flicker is the share of output pixels whose class
// differs from the previous frame's, averaged over consecutive pairs.
// Scene motion changes classes too, so compare models on one clip (the
// ratio), not clips.
#include <cstdio>
#include <iostream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <i2sbseg/error.h>
#include <i2sbseg/segmenter.h>

#include "commands.h"

namespace i2sbseg::tools {
namespace {

struct FlickerOptions {
  std::string model, baseline, pattern, device = "cpu";
  int count = 0, steps = 0, threads = 0;
  std::uint64_t seed = 0;
  bool json = false;
};

// Frame i's path: `pattern` with its one %d (%05d etc.) replaced by i;
// parsed here rather than handed to printf, as it comes from the user.
std::string frame_path(const std::string& pattern, int i) {
  static const std::regex conversion("%(0?)([0-9]{0,2})d");
  std::smatch m;
  const bool one = std::regex_search(pattern, m, conversion) && pattern.find('%') == static_cast<std::size_t>(m.position(0)) &&
                   m.suffix().str().find('%') == std::string::npos;
  if (!one)
    throw Error(ErrorKind::kInvalidOption,
                "--input-pattern '" + pattern + "' needs exactly one %d, %05d or the like (e.g. in_%05d.png)",
                "input_pattern");
  std::string n = std::to_string(i);
  const std::size_t width = m[2].length() ? std::stoul(m[2].str()) : 0;
  if (n.size() < width) n.insert(0, width - n.size(), m[1].length() ? '0' : ' ');
  return m.prefix().str() + n + m.suffix().str();
}

// The frames' mean share of pixels whose class changed since the previous frame.
double flicker(Segmenter& seg, const std::vector<cv::Mat>& frames, const FlickerOptions& o) {
  SegmentParams params;
  params.nfe = o.steps;
  params.seed = o.seed;
  params.threads = o.threads;
  std::vector<std::uint8_t> prev, map;
  double sum = 0;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const cv::Mat& f = frames[i];
    int w = 0, h = 0;
    seg.segment(f.data, f.cols, f.rows, static_cast<int>(f.step), PixelLayout{3, 2, 1, 0}, params, map, w, h);
    if (i > 0) {
      std::size_t changed = 0;
      for (std::size_t p = 0; p < map.size(); ++p) changed += map[p] != prev[p];
      sum += static_cast<double>(changed) / static_cast<double>(map.size());
    }
    prev.swap(map);
  }
  return sum / static_cast<double>(frames.size() - 1);
}

int run_flicker(const FlickerOptions& o) {
  if (o.count < 2)
    throw Error(ErrorKind::kInvalidOption, "--count is " + std::to_string(o.count) + "; flicker needs 2 frames or more",
                "count");
  std::vector<cv::Mat> frames;
  for (int i = 0; i < o.count; ++i) {
    const std::string path = frame_path(o.pattern, i);
    cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
    if (bgr.empty()) throw Error(ErrorKind::kNotFound, path + ": missing or not an image (frame " + std::to_string(i) + ")");
    if (!frames.empty() && bgr.size() != frames.front().size())
      throw Error(ErrorKind::kBadFile, path + ": not the size of frame 0");
    frames.push_back(bgr);
  }
  SegmenterOptions so;
  so.device = o.device;
  nlohmann::json j{{"frames", o.count}, {"width", frames[0].cols}, {"height", frames[0].rows}};
  j["model"] = {{"file", o.model}, {"flicker", flicker(*Segmenter::open(o.model, so), frames, o)}};
  if (!o.baseline.empty()) {
    j["baseline"] = {{"file", o.baseline}, {"flicker", flicker(*Segmenter::open(o.baseline, so), frames, o)}};
    const double b = j["baseline"]["flicker"];
    j["ratio"] = b > 0 ? nlohmann::json(j["model"]["flicker"].get<double>() / b) : nlohmann::json(nullptr);
  }
  if (o.json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("flicker over %d frames (share of pixels whose class changes from one frame to the next):\n", o.count);
  std::printf("  %-40s %.4f\n", o.model.c_str(), j["model"]["flicker"].get<double>());
  if (j.contains("baseline")) {
    std::printf("  %-40s %.4f\n", o.baseline.c_str(), j["baseline"]["flicker"].get<double>());
    if (!j["ratio"].is_null()) std::printf("  model / baseline: %.2f\n", j["ratio"].get<double>());
  }
  return 0;
}

}  // namespace

Command add_flicker_command(CLI::App& app) {
  auto o = std::make_shared<FlickerOptions>();
  CLI::App* sub = app.add_subcommand(
      "flicker", "How much a model's class maps change between consecutive frames of a clip (no labels needed)");
  sub->add_option("--model", o->model, "Model bundle")->required();
  sub->add_option("--baseline", o->baseline, "A second model on the same frames (e.g. the direct model), and the ratio");
  sub->add_option("--input-pattern", o->pattern, "Frames, printf-style with the frame index (e.g. in_%05d.png)")
      ->required();
  sub->add_option("--count", o->count, "Number of frames, from index 0")->required();
  sub->add_option("--steps", o->steps, "Bridge steps (0: the model's default)");
  sub->add_option("--seed", o->seed, "Bridge noise seed, the same every frame (the element's default 0)");
  sub->add_option("--device", o->device, "cpu, cuda, cuda:N or auto");
  sub->add_option("--threads", o->threads, "CPU threads (0: one per core)");
  sub->add_flag("--json", o->json, "Print JSON");
  return {sub, [o] { return run_flicker(*o); }};
}

}  // namespace i2sbseg::tools
