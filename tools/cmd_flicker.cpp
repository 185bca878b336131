// SPDX-License-Identifier: MIT
// `i2sbseg flicker --model M [--baseline B] [--lr-up] --input-pattern P
// --count N [--masks-pattern Q]`: how much models' class maps change from
// one frame of a clip to the next and, on a labelled clip (Q: each frame's
// class-index mask at the output size, e.g. from `i2sbseg make-clip`), how
// right they are: mIoU, pixel accuracy, boundary F and the flicker where
// the truth holds still (tools/clip_scores.h). Each frame is segmented as
// the element segments it (the same seed every frame). Without labels scene
// motion changes classes too, so compare models on one clip (the ratio).
// With --classes (the clip's classes.json) the models' class names must be
// the clip's: the masks' indices mean nothing to a model of other classes.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include <i2sbseg/class_list.h>
#include <i2sbseg/device.h>
#include <i2sbseg/error.h>
#include <i2sbseg/model.h>
#include <i2sbseg/segmenter.h>

#include "clip_scores.h"
#include "commands.h"

namespace i2sbseg::tools {
namespace {

struct FlickerOptions {
  std::string model, baseline, pattern, masks_pattern, classes_file, device = "cpu";
  int count = 0, steps = 0, threads = 0;
  std::uint64_t seed = 0;
  bool json = false, lr_up = false;
};

// Frame i's path: `pattern` (option `option`) with its one %d (%05d etc.)
// replaced by i; parsed here rather than handed to printf, as it comes from
// the user.
std::string frame_path(const std::string& pattern, int i, const std::string& option) {
  static const std::regex conversion("%(0?)([0-9]{0,2})d");
  std::smatch m;
  const bool one = std::regex_search(pattern, m, conversion) && pattern.find('%') == static_cast<std::size_t>(m.position(0)) &&
                   m.suffix().str().find('%') == std::string::npos;
  if (!one)
    throw Error(ErrorKind::kInvalidOption,
                "--" + option + " '" + pattern + "' needs exactly one %d, %05d or the like (e.g. in_%05d.png)",
                option == "masks-pattern" ? "masks_pattern" : "input_pattern");
  std::string n = std::to_string(i);
  const std::size_t width = m[2].length() ? std::stoul(m[2].str()) : 0;
  if (n.size() < width) n.insert(0, width - n.size(), m[1].length() ? '0' : ' ');
  return m.prefix().str() + n + m.suffix().str();
}

// The frames (BGR) and, with --masks-pattern, their truth (class indices).
struct Clip {
  std::vector<cv::Mat> frames;
  std::vector<std::vector<std::uint8_t>> truth;
  std::vector<std::string> truth_paths;
  int truth_w = 0, truth_h = 0;
  std::vector<ClassInfo> classes;  // --classes; empty without
};

// Refuses a model whose class names are not the clip's (--classes).
void check_classes(const std::string& file, const std::vector<ClassInfo>& model, const Clip& clip) {
  if (clip.classes.empty()) return;
  bool same = model.size() == clip.classes.size();
  for (std::size_t k = 0; same && k < model.size(); ++k) same = model[k].name == clip.classes[k].name;
  if (!same)
    throw Error(ErrorKind::kInvalidOption,
                file + " has the classes " + class_names(model) + ", the clip (--classes) " + class_names(clip.classes) +
                    ": its masks cannot score this model",
                "classes");
}

Clip read_clip(const FlickerOptions& o) {
  Clip c;
  if (!o.classes_file.empty()) {
    std::ifstream in(o.classes_file);
    if (!in) throw Error(ErrorKind::kNotFound, o.classes_file + ": cannot read (--classes)", "classes");
    std::stringstream text;
    text << in.rdbuf();
    c.classes = parse_class_list(text.str(), o.classes_file);
  }
  for (int i = 0; i < o.count; ++i) {
    const std::string path = frame_path(o.pattern, i, "input-pattern");
    cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
    if (bgr.empty()) throw Error(ErrorKind::kNotFound, path + ": missing or not an image (frame " + std::to_string(i) + ")");
    if (!c.frames.empty() && bgr.size() != c.frames.front().size())
      throw Error(ErrorKind::kBadFile, path + ": not the size of frame 0");
    c.frames.push_back(bgr);
    if (o.masks_pattern.empty()) continue;
    const std::string mpath = frame_path(o.masks_pattern, i, "masks-pattern");
    const cv::Mat mask = cv::imread(mpath, cv::IMREAD_UNCHANGED);
    if (mask.empty()) throw Error(ErrorKind::kNotFound, mpath + ": missing or not an image (mask " + std::to_string(i) + ")");
    if (mask.type() != CV_8UC1)
      throw Error(ErrorKind::kBadFile, mpath + ": a mask must be 8-bit single-channel class indices");
    if (i == 0) c.truth_w = mask.cols, c.truth_h = mask.rows;
    if (mask.cols != c.truth_w || mask.rows != c.truth_h) throw Error(ErrorKind::kBadFile, mpath + ": not the size of mask 0");
    const cv::Mat packed = mask.clone();  // continuous rows
    c.truth.emplace_back(packed.data, packed.data + packed.total());
    c.truth_paths.push_back(mpath);
  }
  return c;
}

// Adds frame i's map to `scorer`, checking it against the truth's size.
void add_frame(ClipScorer& scorer, const Clip& clip, std::size_t i, const std::vector<std::uint8_t>& map, int w, int h) {
  if (!clip.truth.empty() && (w != clip.truth_w || h != clip.truth_h))
    throw Error(ErrorKind::kBadFile, clip.truth_paths[i] + " is " + std::to_string(clip.truth_w) + "x" +
                                         std::to_string(clip.truth_h) + ", the model's output " + std::to_string(w) +
                                         "x" + std::to_string(h) + " (masks must have the output's size)");
  scorer.add(map, clip.truth.empty() ? nullptr : &clip.truth[i], w, h);
}

// A model through the element's frame call (Segmenter), bridge or direct.
ClipScores score_model(const std::string& file, const Clip& clip, const FlickerOptions& o) {
  SegmenterOptions so;
  so.device = o.device;
  const std::shared_ptr<Segmenter> seg = Segmenter::open(file, so);
  check_classes(file, seg->classes(), clip);
  SegmentParams params;
  params.nfe = o.steps;
  params.seed = o.seed;
  params.threads = o.threads;
  ClipScorer scorer(seg->num_classes());
  std::vector<std::uint8_t> map;
  for (std::size_t i = 0; i < clip.frames.size(); ++i) {
    const cv::Mat& f = clip.frames[i];
    int w = 0, h = 0;
    seg->segment(f.data, f.cols, f.rows, static_cast<int>(f.step), PixelLayout{3, 2, 1, 0}, params, map, w, h);
    add_frame(scorer, clip, i, map, w, h);
  }
  return scorer.scores();
}

// LR-up: the model's classifier on the bicubic-upsampled frame, no bridge.
ClipScores score_lr_up(const std::string& file, const Clip& clip, const FlickerOptions& o) {
  Model m = load_model(file, parse_device(o.device));
  m.eval();
  m.fold_for_inference();
  check_classes(file, m.config().classes, clip);
  if (o.threads > 0) torch::set_num_threads(o.threads);
  torch::NoGradGuard no_grad;
  ClipScorer scorer(m.config().num_classes());
  for (std::size_t i = 0; i < clip.frames.size(); ++i) {
    const cv::Mat& f = clip.frames[i];
    const torch::Tensor bgr = torch::from_blob(f.data, {f.rows, f.cols, 3}, {static_cast<int64_t>(f.step), 3, 1},
                                               torch::kUInt8);
    const torch::Tensor rgb01 = bgr.flip({2}).permute({2, 0, 1}).unsqueeze(0).to(m.device(), torch::kFloat32) / 255.0;
    const torch::Tensor classes = m.classify(m.upsample_lr(rgb01)).argmax(1).squeeze(0).to(torch::kCPU, torch::kUInt8).contiguous();
    const std::vector<std::uint8_t> map(classes.data_ptr<std::uint8_t>(), classes.data_ptr<std::uint8_t>() + classes.numel());
    add_frame(scorer, clip, i, map, static_cast<int>(classes.size(1)), static_cast<int>(classes.size(0)));
  }
  return scorer.scores();
}

nlohmann::json row_json(const std::string& file, const ClipScores& s, bool labelled) {
  nlohmann::json j{{"file", file}, {"flicker", s.flicker}};
  if (labelled) {
    j["miou"] = s.miou;
    j["pixel_accuracy"] = s.pixel_accuracy;
    j["boundary_f"] = s.boundary_f;
    j["flicker_steady_truth"] = std::isnan(s.flicker_steady_truth) ? nlohmann::json(nullptr)
                                                                    : nlohmann::json(s.flicker_steady_truth);
    nlohmann::json iou = nlohmann::json::array();  // null: a class in neither truth nor prediction
    for (const double v : s.class_iou) iou.push_back(std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v));
    j["class_iou"] = iou;
  }
  return j;
}

void print_rows(const nlohmann::json& j, bool labelled) {
  std::printf("over %d frames; flicker: the share of pixels whose class changes from one frame to the next%s\n",
              j["frames"].get<int>(), labelled ? ", and where the truth holds still" : "");
  if (labelled) std::printf("  %-10s %-36s %7s %7s %7s %9s %9s\n", "row", "model", "mIoU", "acc", "bF@2", "flicker", "steady");
  for (const char* key : {"lr_up", "baseline", "model"}) {
    if (!j.contains(key)) continue;
    const nlohmann::json& r = j[key];
    const std::string name = key == std::string("lr_up") ? "LR-up" : key == std::string("baseline") ? "baseline" : "model";
    if (!labelled) {
      std::printf("  %-10s %-36s %.4f\n", name.c_str(), r["file"].get<std::string>().c_str(), r["flicker"].get<double>());
      continue;
    }
    const double steady = r["flicker_steady_truth"].is_null() ? NAN : r["flicker_steady_truth"].get<double>();
    std::printf("  %-10s %-36s %7.4f %7.4f %7.4f %9.4f %9.4f\n", name.c_str(), r["file"].get<std::string>().c_str(),
                r["miou"].get<double>(), r["pixel_accuracy"].get<double>(), r["boundary_f"].get<double>(),
                r["flicker"].get<double>(), steady);
  }
  if (j.contains("ratio") && !j["ratio"].is_null()) std::printf("  flicker, model / baseline: %.2f\n", j["ratio"].get<double>());
  if (!labelled) return;
  std::printf("  IoU per class%s:\n", j.contains("class_names") ? "" : " (by index)");
  for (const char* key : {"lr_up", "baseline", "model"}) {
    if (!j.contains(key)) continue;
    std::printf("  %-10s", key == std::string("lr_up") ? "LR-up" : key);
    const nlohmann::json& iou = j[key]["class_iou"];
    for (std::size_t k = 0; k < iou.size(); ++k) {
      const std::string name = j.contains("class_names") ? j["class_names"][k].get<std::string>() : std::to_string(k);
      if (iou[k].is_null())
        std::printf(" %s -", name.c_str());
      else
        std::printf(" %s %.4f", name.c_str(), iou[k].get<double>());
    }
    std::printf("\n");
  }
}

int run_flicker(const FlickerOptions& o) {
  if (o.count < 2)
    throw Error(ErrorKind::kInvalidOption, "--count is " + std::to_string(o.count) + "; flicker needs 2 frames or more",
                "count");
  const Clip clip = read_clip(o);
  const bool labelled = !clip.truth.empty();
  nlohmann::json j{{"frames", o.count}, {"width", clip.frames[0].cols}, {"height", clip.frames[0].rows}};
  if (labelled) {
    j["boundary_tolerance_px"] = 2.0;
    j["boundary_band_px"] = BoundaryScore::kDefaultBand;
  }
  if (!clip.classes.empty()) {
    nlohmann::json names = nlohmann::json::array();
    for (const ClassInfo& c : clip.classes) names.push_back(c.name);
    j["class_names"] = names;
  }
  j["model"] = row_json(o.model, score_model(o.model, clip, o), labelled);
  if (!o.baseline.empty()) {
    j["baseline"] = row_json(o.baseline, score_model(o.baseline, clip, o), labelled);
    const double b = j["baseline"]["flicker"];
    j["ratio"] = b > 0 ? nlohmann::json(j["model"]["flicker"].get<double>() / b) : nlohmann::json(nullptr);
  }
  if (o.lr_up) j["lr_up"] = row_json(o.model, score_lr_up(o.model, clip, o), labelled);
  if (o.json)
    std::cout << j.dump(2) << "\n";
  else
    print_rows(j, labelled);
  return 0;
}

}  // namespace

Command add_flicker_command(CLI::App& app) {
  auto o = std::make_shared<FlickerOptions>();
  CLI::App* sub = app.add_subcommand(
      "flicker",
      "How much models' class maps change between consecutive frames of a clip and, with masks, how right they are");
  sub->add_option("--model", o->model, "Model bundle")->required();
  sub->add_option("--baseline", o->baseline, "A second model on the same frames (e.g. the direct model), and the ratio");
  sub->add_flag("--lr-up", o->lr_up, "Also --model's classifier on the bicubic-upsampled frames (no bridge)");
  sub->add_option("--input-pattern", o->pattern, "Frames, printf-style with the frame index (e.g. in_%05d.png)")
      ->required();
  sub->add_option("--masks-pattern", o->masks_pattern,
                  "Ground truth: each frame's 8-bit class-index mask at the output size (255: unlabelled), "
                  "printf-style; adds mIoU, pixel accuracy, boundary F (2 px) and the flicker where the truth holds "
                  "still");
  sub->add_option("--classes", o->classes_file,
                  "The clip's classes.json: the models' class names must be its names (else refused), and they "
                  "name the per-class IoU");
  sub->add_option("--count", o->count, "Number of frames, from index 0")->required();
  sub->add_option("--steps", o->steps, "Bridge steps (0: the model's default)");
  sub->add_option("--seed", o->seed, "Bridge noise seed, the same every frame (the element's default 0)");
  sub->add_option("--device", o->device, "cpu, cuda, cuda:N or auto");
  sub->add_option("--threads", o->threads, "CPU threads (0: one per core)");
  sub->add_flag("--json", o->json, "Print JSON");
  return {sub, [o] { return run_flicker(*o); }};
}

}  // namespace i2sbseg::tools
