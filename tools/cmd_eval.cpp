// SPDX-License-Identifier: MIT
// `i2sbseg eval`: HR / LR-up / oracle / bridge-at-NFE (/ baseline) on one
// split, and the bridge rows' leads with bootstrap intervals.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <string>

#include <i2sbseg/dataset.h>
#include <i2sbseg/device.h>
#include <i2sbseg/error.h>
#include <i2sbseg/evaluation.h>
#include <i2sbseg/model.h>

#include "commands.h"
#include "field_flags.h"
#ifdef I2SBSEG_HAVE_OPENCV
#include "eval_report.h"
#endif

namespace i2sbseg::tools {
namespace {

struct EvalCliOptions {
  std::string model, data, split = "val", baseline, device = "cpu", json_out, report;
  EvalOptions eval;
  int threads = 0;
  int samples = 1;  // EvalOptions::mean_samples when above 1
  bool json = false;
};

// Library error fields -> this command's flags: Dataset::load's split,
// evaluate()'s data and baseline, EvalOptions members.
const FieldFlags& option_flags() {
  static const FieldFlags flags{
      {"split", "--split"}, {"data", "--data"}, {"baseline", "--baseline"}, {"nfes", "--nfe"},
      {"max_images", "--max-images"}, {"seed", "--seed"}, {"device", "--device"}, {"threads", "--threads"},
      {"boundary_tolerance", "--boundary-tolerance"}, {"boundary_band", "--boundary-band"},
      {"mean_samples", "--samples"},
      {"bootstrap", "--bootstrap"}};
  return flags;
}


// A folder without the asked split's list (train.txt/val.txt) has no such
// split: evaluate all of it; `split` says which was read.
Dataset load_data(const std::string& path, std::string& split) {
  try {
    return Dataset::load(path, split);
  } catch (const Error& e) {
    if (split == "all" || e.kind() != ErrorKind::kNotFound || e.field() != "split") throw;
    split = "all";
    return Dataset::load(path, split);
  }
}

int evaluate_and_print(const EvalCliOptions& o) {
#ifndef I2SBSEG_HAVE_OPENCV
  if (!o.report.empty())
    throw Error(ErrorKind::kUnsupported, "--report: this build has no OpenCV to draw the pictures with");
#endif
  if (o.threads > 0) torch::set_num_threads(o.threads);
  const torch::Device device = parse_device(o.device);
  Model model = load_model(o.model, device);
  std::unique_ptr<Model> baseline;
  if (!o.baseline.empty()) baseline = std::make_unique<Model>(load_model(o.baseline, device));
  std::string split = o.split;
  Dataset data = load_data(o.data, split);
  EvalOptions eo = o.eval;
  eo.mean_samples = o.samples > 1 ? o.samples : 0;  // one sample is the plain bridge row
  const bool tty = ::isatty(2);
  eo.progress = [tty](int done, int total) {
    if (tty)
      std::fprintf(stderr, "\reval %d/%d images%s", done, total, done == total ? "\n" : "");
    else if (done % 100 == 0 || done == total)
      std::fprintf(stderr, "eval %d/%d images\n", done, total);
  };
  const EvalReport r = evaluate(model, data, eo, baseline.get());
  if (!o.json_out.empty()) r.save_json(o.json_out);
#ifdef I2SBSEG_HAVE_OPENCV
  if (!o.report.empty()) write_eval_report(o.report, r, {&model, &data, baseline.get(), &eo});
#endif
  if (o.json)
    std::cout << r.to_json() << "\n";
  else
    std::cout << o.model << " on " << o.data << " (split " << split << ")\n" << r.to_table();
  return 0;
}

int run_eval(const EvalCliOptions& o) {
  try {
    return evaluate_and_print(o);
  } catch (const Error& e) {
    throw with_flag(e, option_flags());
  }
}

}  // namespace

Command add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalCliOptions>();
  CLI::App* sub = app.add_subcommand("eval", "Evaluate a model: classifier HR/LR-up, oracle, bridge at NFE 1,2,4,10");
  sub->add_option("model", o->model, "Model bundle")->required();
  sub->add_option("--data", o->data, "Dataset folder or packed file")->required();
  sub->add_option("--split", o->split, "train, val or all (a folder without a split uses all)")
      ->capture_default_str()
      ->check(CLI::IsMember({"train", "val", "all"}));
  sub->add_option("--baseline", o->baseline, "A second bundle (e.g. the direct model) reported as row 'baseline'");
  sub->add_option("--nfe", o->eval.nfes, "NFE values for the bridge rows")->capture_default_str();
  sub->add_flag("--ot-ode", o->eval.ot_ode, "Deterministic (ODE) sampling");
  sub->add_option("--seed", o->eval.seed, "Sampling seed")->capture_default_str();
  sub->add_option("--samples", o->samples,
                  "K > 1: also a row 'bridge NFE n ×K' per NFE (JSON bridge_mean), the argmax of the class "
                  "probabilities averaged over K bridge samples (the plain row's and K-1 more)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  sub->add_option("--boundary-tolerance", o->eval.boundary_tolerance,
                  "Boundary F (column bndF, JSON boundary_f): F-score of class-edge pixels (a 4-neighbour has "
                  "another label) in prediction and truth at HR resolution, matched within this many pixels "
                  "(Euclidean), counted over all images")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 64.0));
  sub->add_option("--boundary-band", o->eval.boundary_band,
                  "Boundary F on banded truth: unlabelled (255) truth pixels within this many pixels of a labelled "
                  "one take the nearest one's class, so a band of doubt up to twice this wide between two classes "
                  "has its truth edge in the middle (0: 255 is never a boundary)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 32.0));
  sub->add_option("--bootstrap", o->eval.bootstrap,
                  "After the table, each bridge row's mIoU lead over the baseline and over the LR path (no bridge) "
                  "with a 95 % interval from this many paired bootstrap resamples of the images (seeded by --seed; "
                  "JSON leads); 0: none")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000));
  sub->add_option("--max-images", o->eval.max_images, "Evaluate at most this many images (0: all)")->capture_default_str();
  sub->add_option("--device", o->device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  sub->add_option("--threads", o->threads, "CPU threads (0: LibTorch default)")->capture_default_str();
  sub->add_flag("--json", o->json, "Print JSON (rows classifier_hr, classifier_lr, oracle, bridge{NFE}, bridge_mean{NFE}, baseline; leads)");
  sub->add_option("--json-out", o->json_out, "Also write the JSON report to this file");
  sub->add_option("--report", o->report,
                  "Write pictures to this folder (created if missing): examples.png (8 images: LR input, truth, "
                  "classifier on HR, baseline, bridge), class_iou.png, nfe.png");
  return {sub, [o] { return run_eval(*o); }};
}

}  // namespace i2sbseg::tools
