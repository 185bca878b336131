// SPDX-License-Identifier: MIT
// `i2sbseg bench`: the performance reference points of docs/design.md §7, taken
// side by side in one run, with the ratios the targets are stated in.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "bench_batch.h"
#include "blob_frame.h"
#include "benchmark.h"
#include <i2sbseg/bundle.h>
#include <i2sbseg/config.h>
#include <i2sbseg/error.h>
#include <i2sbseg/segmenter.h>

#include "commands.h"
#include "size_option.h"
#ifdef I2SBSEG_HAVE_GSTREAMER
#include "bench_element.h"
#endif

namespace i2sbseg::tools {
namespace {

struct BenchCli {
  BenchOptions o;
  std::string size = "128x128";
  std::string precision = "fp32";  // -> o.precision, once, before anything runs
  std::string cuda_graphs = "on", cudnn_benchmark = "on";
  std::string plugin;  // the element's plugin file; empty: GStreamer's registry
  int element_nfe = 4;
  bool no_element = false;
  bool compare_cpu = false;
  int compare_frames = 8;
  bool json = false;
  std::string json_out;
  int batch = 0;  // > 0: only the batched-vs-unbatched comparison (bench_batch.h)
  std::string batch_images;
};

// Fraction of class-map pixels on which the device and the CPU (fp32) agree.
double agreement(const BenchCli& c, Precision precision, int lr_w, int lr_h) {
  auto cpu = Segmenter::open(c.o.model, {"cpu", Precision::kFp32});
  auto dev = Segmenter::open(c.o.model, {c.o.device, precision, c.o.cudnn_benchmark, c.o.cuda_graphs});
  std::size_t same = 0, total = 0;
  SegmentParams p;
  p.ot_ode = false;
  p.seed = 7;  // noise is drawn on the CPU from the seed: identical on both devices
  p.threads = c.o.threads;
  for (int i = 0; i < c.compare_frames; ++i) {
    const auto frame = blob_frame(lr_w, lr_h, 100 + i, 6, true);  // smooth regions with some grain
    std::vector<std::uint8_t> a, b;
    int w1, h1, w2, h2;
    cpu->segment(frame.data(), lr_w, lr_h, lr_w * 3, {3, 0, 1, 2}, p, a, w1, h1);
    dev->segment(frame.data(), lr_w, lr_h, lr_w * 3, {3, 0, 1, 2}, p, b, w2, h2);
    for (std::size_t j = 0; j < a.size(); ++j) same += a[j] == b[j];
    total += a.size();
  }
  return total ? static_cast<double>(same) / total : 0.0;
}

// The bundle's config, without loading weights.
ModelConfig config_of(const std::string& model) {
  const BundleContents b = read_bundle_file(model);
  try {
    return ModelConfig::from_json(b.config_json);
  } catch (const Error& e) {
    throw Error(model + ": " + e.what());
  }
}

int scale_factor_of(const std::string& model) { return config_of(model).scale_factor; }

std::string ms(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%9.2f", v);
  return b;
}

// The element in a pipeline against a passthrough one, when this build has
// GStreamer; the JSON keys, or `note` saying why not measured. Run before
// the model timings: once this thread has run LibTorch's OpenMP team, its
// idle workers compete with the element's streaming thread for the cores and
// the element looks slower than it is in gst-launch-1.0.
nlohmann::json time_element(const BenchCli& c, std::string& note) {
  nlohmann::json out = nlohmann::json::object();
#ifdef I2SBSEG_HAVE_GSTREAMER
  if (c.no_element) return out;
  const std::string props = "model=\"" + c.o.model + "\" device=" + c.o.device + " precision=" +
                            precision_name(c.o.precision) + " steps=" + std::to_string(c.element_nfe) +
                            (c.o.threads > 0 ? " threads=" + std::to_string(c.o.threads) : "");
  int lr_w = 0, lr_h = 0;
  bench_input_size(scale_factor_of(c.o.model), c.o.width, c.o.height, lr_w, lr_h);
  const PipelineTiming t = time_pipelines(props, c.plugin, lr_w, lr_h, c.o.frames, c.o.warmup);
  if (t.available) {
    out["element_ms"] = t.element_ms;
    out["passthrough_ms"] = t.passthrough_ms;
    out["element_nfe"] = c.element_nfe;
  } else {
    note = t.why;
  }
#else
  note = "this build has no GStreamer element";
#endif
  return out;
}

nlohmann::json keyed(const std::map<int, double>& m) {
  nlohmann::json o = nlohmann::json::object();
  for (const auto& [k, v] : m) o[std::to_string(k)] = v;
  return o;
}

// The ratios at the element's NFE (docs/design.md §7).
nlohmann::json ratios(const BenchReport& r, const nlohmann::json& j, int n) {
  nlohmann::json out = nlohmann::json::object();
  if (!r.latent_ms.count(n)) return out;
  const double latent = r.latent_ms.at(n);
  out["latent_over_unet"] = latent / r.unet_ms;
  if (r.pixel_ms.count(n)) out["pixel_over_latent"] = r.pixel_ms.at(n) / latent;
  if (j.contains("element_ms")) {
    const double element = j["element_ms"].get<double>() - j["passthrough_ms"].get<double>();
    out["element_minus_passthrough_over_latent"] = element / latent;
    // The element against the library's whole frame call (its own overhead).
    if (r.frame_ms.count(n)) out["element_minus_passthrough_over_frame"] = element / r.frame_ms.at(n);
  }
  return out;
}

nlohmann::json report_json(const BenchCli& c, const BenchReport& r, const nlohmann::json& element) {
  nlohmann::json j;
  j["model"] = c.o.model;
  j["device"] = r.device;
  j["precision"] = precision_name(r.precision);
  j["threads"] = r.threads;
  j["size"] = {{"width", r.width}, {"height", r.height}};
  j["input_size"] = {{"width", r.lr_width}, {"height", r.lr_height}};
  j["frames"] = c.o.frames;
  j["unet_ms"] = r.unet_ms;
  j["latent_ms"] = keyed(r.latent_ms);
  j["pixel_ms"] = keyed(r.pixel_ms);
  j["frame_ms"] = keyed(r.frame_ms);
  j.update(element);
  if (c.compare_cpu) {
    j["agreement_with_cpu"]["fp32"] = agreement(c, Precision::kFp32, r.lr_width, r.lr_height);
    if (r.precision != Precision::kFp32)
      j["agreement_with_cpu"][precision_name(r.precision)] = agreement(c, r.precision, r.lr_width, r.lr_height);
  }
  j["peak_rss_mb"] = peak_rss_mb();
  j["ratios"] = ratios(r, j, c.element_nfe);
  j["ratio_nfe"] = c.element_nfe;
  // Every timed NFE against the direct path (the bridge-cost targets,
  // docs/performance.md), and the
  // bridge network that was timed.
  for (const auto& [n, v] : r.latent_ms) j["over_unet"]["latent"][std::to_string(n)] = v / r.unet_ms;
  for (const auto& [n, v] : r.frame_ms) j["over_unet"]["frame"][std::to_string(n)] = v / r.unet_ms;
  const ModelConfig config = config_of(c.o.model);
  if (config.bridge)
    j["bridge"] = {{"type", to_string(config.bridge->type)},
                   {"channels", config.bridge->channels},
                   {"blocks", config.bridge->blocks}};
  else
    j["bridge"] = nullptr;
  return j;
}

void print_table(const BenchCli& c, const BenchReport& r, const nlohmann::json& j, const std::string& element_note) {
  std::cout << "model " << c.o.model << " on " << r.device << " (" << precision_name(r.precision) << ", " << r.threads
            << " threads): input " << r.lr_width << "x" << r.lr_height << " -> output " << r.width << "x" << r.height
            << ", median of " << c.o.frames << " runs\n\n";
  std::cout << "                      ms/frame\n";
  std::cout << "unet (classifier)    " << ms(r.unet_ms) << "\n";
  auto row = [](const char* what, int nfe, double v) {
    std::cout << what << " NFE " << nfe << (nfe < 10 ? " " : "") << " " << ms(v) << "\n";
  };
  for (const auto& [k, v] : r.latent_ms) row("latent bridge", k, v);
  for (const auto& [k, v] : r.pixel_ms) row("pixel bridge ", k, v);
  for (const auto& [k, v] : r.frame_ms) std::cout << "frame (bytes->overlay) NFE " << k << " " << ms(v) << "\n";
  if (j.contains("element_ms")) {
    std::cout << "element in pipeline  " << ms(j["element_ms"]) << "   (NFE " << c.element_nfe << ")\n";
    std::cout << "passthrough pipeline " << ms(j["passthrough_ms"]) << "\n";
  } else if (!element_note.empty()) {
    std::cout << "element: not measured: " << element_note << "\n";
  }
  if (j.contains("agreement_with_cpu"))
    for (const auto& [k, v] : j["agreement_with_cpu"].items())
      std::printf("mask agreement with CPU fp32 (%s): %.4f\n", k.c_str(), v.get<double>());
  std::printf("peak RSS %.0f MB\n\nratios at NFE %d (target)\n", j["peak_rss_mb"].get<double>(), c.element_nfe);
  // target empty: information only, no verdict.
  const nlohmann::json& ratio = j["ratios"];
  auto line = [&](const char* key, const char* label, const char* target, double limit) {
    if (!ratio.contains(key)) return;
    const double v = ratio[key].get<double>();
    if (*target == 0)
      std::printf("  %-44s %6.2f\n", label, v);
    else
      std::printf("  %-44s %6.2f   %s %s\n", label, v, target, v <= limit ? "ok" : "MISSED");
  };
  line("latent_over_unet", "latent_ms / unet_ms", "<= 2.0", 2.0);
  line("pixel_over_latent", "pixel_ms / latent_ms", "", 0);
  line("element_minus_passthrough_over_latent", "(element_ms - passthrough_ms) / latent_ms", "<= 1.10", 1.10);
  line("element_minus_passthrough_over_frame", "(element_ms - passthrough_ms) / frame_ms", "<= 1.10", 1.10);
  if (j.contains("over_unet")) {
    std::printf("\nagainst unet_ms, per NFE\n");
    for (const auto& [path, by_nfe] : j["over_unet"].items())
      for (const auto& [n, v] : by_nfe.items())
        std::printf("  %-6s NFE %-3s %6.2f\n", path.c_str(), n.c_str(), v.get<double>());
  }
  if (j["bridge"].is_object())
    std::printf("bridge network: %s, %d channels x %d blocks\n", j["bridge"]["type"].get<std::string>().c_str(),
                j["bridge"]["channels"].get<int>(), j["bridge"]["blocks"].get<int>());
}

int run_bench(BenchCli& c) {
  parse_size(c.size, c.o.width, c.o.height);
  c.o.precision = precision_from_name(c.precision);
  c.o.cuda_graphs = c.cuda_graphs == "on";
  c.o.cudnn_benchmark = c.cudnn_benchmark == "on";
  if (c.batch > 0) {
    BatchBenchOptions b;
    b.model = c.o.model, b.device = c.o.device, b.images = c.batch_images;
    b.streams = c.batch, b.rounds = c.o.frames, b.warmup = c.o.warmup, b.threads = c.o.threads;
    b.nfe = c.element_nfe;
    bench_input_size(scale_factor_of(c.o.model), c.o.width, c.o.height, b.lr_width, b.lr_height);
    return run_batch_bench(b);
  }
  std::string element_note;
  const nlohmann::json element = time_element(c, element_note);
  const BenchReport r = bench_model(c.o);
  const nlohmann::json j = report_json(c, r, element);
  if (!c.json_out.empty()) {
    std::ofstream f(c.json_out);
    f << j.dump(2) << "\n";
    if (!f) throw Error(ErrorKind::kWriteFailed, c.json_out + ": cannot write");
  }
  if (c.json)
    std::cout << j.dump(2) << "\n";
  else
    print_table(c, r, j, element_note);
  return 0;
}

}  // namespace

Command add_bench_command(CLI::App& app) {
  auto c = std::make_shared<BenchCli>();
  CLI::App* sub = app.add_subcommand("bench", "Time the classifier, the latent and pixel-space bridges and the element");
  sub->add_option("--model", c->o.model, "Model bundle")->required();
  sub->add_option("--size", c->size, "Output (HR) size WxH; the input frame is this divided by the scale factor")
      ->capture_default_str();
  sub->add_option("--frames", c->o.frames, "Timed runs per measurement (the median is reported)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  sub->add_option("--warmup", c->o.warmup, "Untimed runs first")->capture_default_str()->check(CLI::Range(0, 1000));
  sub->add_option("--device", c->o.device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  sub->add_option("--precision", c->precision, "auto (fp16 on CUDA), fp32, fp16 or bf16")->capture_default_str();
  sub->add_option("--cuda-graphs", c->cuda_graphs, "On CUDA: replay the frame path as a captured graph")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  sub->add_option("--cudnn-benchmark", c->cudnn_benchmark, "On CUDA: let cuDNN time its algorithms per shape")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  sub->add_option("--threads", c->o.threads, "CPU threads (0: $OMP_NUM_THREADS or one per core)")->capture_default_str();
  sub->add_option("--nfe", c->o.nfes, "Bridge step counts to time")->capture_default_str();
  sub->add_option("--element-nfe", c->element_nfe, "NFE of the element run and of the ratios")->capture_default_str();
  sub->add_flag("--no-pixel", [c](int) { c->o.pixel = false; }, "Skip the pixel-space bridge (slow at large sizes)");
  sub->add_flag("--no-element", c->no_element, "Skip the GStreamer pipelines");
  sub->add_flag("--channels-last", c->o.channels_last,
                "Model timings with channels-last weights and inputs (v2 inference uses it anyway)");
  sub->add_flag("--contiguous", c->o.contiguous,
                "Model timings with contiguous (NCHW) weights and inputs, although v2 inference uses channels-last")
      ->excludes("--channels-last");
  sub->add_option("--plugin", c->plugin,
                  "The i2sbseg GStreamer plugin file to load (default: GST_PLUGIN_PATH and the registry; "
                  "`meson devenv` sets them for a build tree)");
  sub->add_flag("--compare-cpu", c->compare_cpu, "Also report mask agreement of this device with the CPU in fp32");
  sub->add_option("--batch", c->batch,
                  "Only compare N streams' frames run one by one with one batch of N (the element's batch-size): "
                  "frames/s of both over --frames rounds at --element-nfe, and differing class-map pixels")
      ->check(CLI::Range(0, 256));
  sub->add_option("--batch-images", c->batch_images, "With --batch: frames from this folder's images (resized)");
  sub->add_flag("--json", c->json, "Print JSON instead of the table");
  sub->add_option("--json-out", c->json_out, "Also write the JSON report to this file");
  return {sub, [c] { return run_bench(*c); }};
}

}  // namespace i2sbseg::tools
