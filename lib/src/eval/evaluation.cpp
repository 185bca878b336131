// SPDX-License-Identifier: MIT
#include <i2sbseg/evaluation.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>

#include <nlohmann/json.hpp>

#include <i2sbseg/batches.h>
#include <i2sbseg/class_list.h>
#include <i2sbseg/error.h>

#include "common/atomic_file.h"

namespace i2sbseg {
namespace {

using Clock = std::chrono::steady_clock;

torch::Tensor argmax_u8(const torch::Tensor& logits) {
  return logits.argmax(1).squeeze(0).to(torch::kCPU, torch::kUInt8).contiguous();
}

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// Counts a prediction against the truth, both (h, w) uint8 on the CPU: in
// the row's totals and, for the bootstrap, as one more image.
void score(EvalRow& row, const torch::Tensor& pred, const torch::Tensor& truth) {
  ConfusionMatrix image(row.confusion.num_classes());
  image.add(pred.data_ptr<std::uint8_t>(), truth.data_ptr<std::uint8_t>(), static_cast<size_t>(truth.numel()));
  row.confusion.merge(image);
  row.per_image.add_image(image);
  row.boundary.add(pred.data_ptr<std::uint8_t>(), truth.data_ptr<std::uint8_t>(), static_cast<int>(truth.size(0)),
                   static_cast<int>(truth.size(1)));
}

void count(ConfusionMatrix& m, const torch::Tensor& pred, const torch::Tensor& truth) {
  m.add(pred.data_ptr<std::uint8_t>(), truth.data_ptr<std::uint8_t>(), static_cast<size_t>(truth.numel()));
}

// Runs `f`, scores its prediction in the row and adds its time.
template <typename Fn>
torch::Tensor timed(EvalRow& row, const torch::Tensor& truth, Fn&& f) {
  const auto t0 = Clock::now();
  const torch::Tensor pred = argmax_u8(f());
  row.ms_per_image += ms_since(t0);
  score(row, pred, truth);
  return pred;
}

// The sum of the class probabilities of `samples` bridge samples from the
// LR latent z1.
torch::Tensor sum_probabilities(Model& model, const torch::Tensor& z1, int64_t h, int64_t w, int samples,
                                const SampleOptions& options) {
  torch::Tensor sum;
  for (int k = 0; k < samples; ++k) {
    const torch::Tensor p = torch::softmax(model.decode(model.run_bridge(z1, options), h, w), 1);
    sum = sum.defined() ? sum + p : p;
  }
  return sum;
}

// One image, cropped to a multiple of the scale factor: HR and LR inputs on
// the model's device, the truth (h, w) on the CPU.
struct ImagePair {
  torch::Tensor hr, lr, truth;
};

// Agreement with the classifier's HR prediction, per NFE.
struct Agreement {
  std::map<int, ConfusionMatrix> plain, mean;
};

// Per NFE: the generator of the plain row's samples and of the averaged
// row's extra ones.
struct RowGenerators {
  at::Generator plain, extra;
};

std::map<int, RowGenerators> row_generators(const EvalOptions& o) {
  std::map<int, RowGenerators> gens;
  for (const int nfe : o.nfes) {
    const std::uint64_t seed = bridge_row_seed(o.seed, nfe);
    gens.emplace(nfe, RowGenerators{make_generator(seed), make_generator(mean_samples_seed(seed))});
  }
  return gens;
}

// The bridge rows (and their averaged rows) of one image.
void bridge_rows(Model& model, const ImagePair& im, const EvalOptions& o, std::map<int, RowGenerators>& gens,
                 EvalReport& r, Agreement& agree, const torch::Tensor& hr_pred) {
  const int64_t h = im.truth.size(0), w = im.truth.size(1);
  for (auto& [nfe, row] : r.bridge) {
    RowGenerators& g = gens.at(nfe);
    const auto t0 = Clock::now();
    const torch::Tensor logits = model.segment_lr(im.lr, {nfe, o.ot_ode, &g.plain});
    const torch::Tensor pred = argmax_u8(logits);
    const double ms = ms_since(t0);
    row.ms_per_image += ms;
    score(row, pred, im.truth);
    count(agree.plain.at(nfe), pred, hr_pred);
    if (o.mean_samples < 1) continue;
    // The plain sample is the first of the K; the others come from g.extra.
    const auto t1 = Clock::now();
    torch::Tensor probs = torch::softmax(logits, 1);
    if (o.mean_samples > 1)
      probs += sum_probabilities(model, model.encode_lr(im.lr), h, w, o.mean_samples - 1, {nfe, o.ot_ode, &g.extra});
    const torch::Tensor mean_pred = argmax_u8(probs / o.mean_samples);
    EvalRow& mean_row = r.bridge_mean.at(nfe);
    mean_row.ms_per_image += ms + ms_since(t1);
    score(mean_row, mean_pred, im.truth);
    count(agree.mean.at(nfe), mean_pred, hr_pred);
  }
}

nlohmann::json row_json(const EvalRow& r, const std::vector<ClassInfo>& classes) {
  nlohmann::json j{{"miou", r.confusion.mean_iou()},
                   {"pixel_acc", r.confusion.pixel_accuracy()},
                   {"boundary_f", r.boundary.f_score()},
                   {"boundary_precision", r.boundary.precision()},
                   {"boundary_recall", r.boundary.recall()},
                   {"ms_per_image", r.ms_per_image}};
  const auto iou = r.confusion.iou();
  for (size_t c = 0; c < classes.size(); ++c)
    j["per_class_iou"][classes[c].name] = std::isnan(iou[c]) ? nlohmann::json(nullptr) : nlohmann::json(iou[c]);
  if (r.agreement_with_hr >= 0) j["agreement_with_hr"] = r.agreement_with_hr;
  return j;
}

bool same_names(const std::vector<ClassInfo>& a, const std::vector<ClassInfo>& b) {
  if (a.size() != b.size()) return false;
  for (size_t k = 0; k < a.size(); ++k)
    if (a[k].name != b[k].name) return false;
  return true;
}

// Mask index i means the i-th class of the dataset's list: scores only make
// sense when the model's list has the same names in the same order. Neither
// file is malformed on its own, the pair is what is wrong: kInvalidOption,
// with the dataset as the argument to change.
void check_compatible(const Model& model, const Dataset& data, const Model* baseline) {
  const std::vector<ClassInfo>& mine = model.config().classes;
  if (!same_names(mine, data.classes()))
    throw Error(ErrorKind::kInvalidOption,
                data.source() + ": the dataset's classes " + class_names(data.classes()) +
                    " are not the model's classes " + class_names(mine) +
                    " (the same names in the same order are needed: a mask value is a place in the list)",
                "data");
  if (baseline && baseline->config().scale_factor != model.config().scale_factor)
    throw Error(ErrorKind::kInvalidOption,
                "the baseline model's scale factor x" + std::to_string(baseline->config().scale_factor) +
                    " is not the model's x" + std::to_string(model.config().scale_factor),
                "baseline");
  if (baseline && !same_names(baseline->config().classes, mine))
    throw Error(ErrorKind::kInvalidOption,
                "the baseline model's classes " + class_names(baseline->config().classes) +
                    " are not the model's classes " + class_names(mine),
                "baseline");
}

// The report with every row present and empty; throws Error for options out
// of range.
EvalReport empty_report(const Model& model, const Dataset& data, const EvalOptions& o, bool has_baseline) {
  if (o.mean_samples < 0 || o.mean_samples > 1000)
    throw Error(ErrorKind::kInvalidOption,
                "samples to average " + std::to_string(o.mean_samples) + " is not between 0 and 1000", "mean_samples");
  if (o.bootstrap < 0 || o.bootstrap > 100000)
    throw Error(ErrorKind::kInvalidOption,
                "bootstrap resamples " + std::to_string(o.bootstrap) + " is not between 0 and 100000", "bootstrap");
  const int k = model.config().num_classes();
  EvalRow empty{ConfusionMatrix(k), BoundaryScore(o.boundary_tolerance, o.boundary_band)};
  empty.per_image = ImageCounts(k);
  EvalReport r;
  r.classes = data.classes();
  r.boundary_tolerance = o.boundary_tolerance;
  r.boundary_band = o.boundary_band;
  r.classifier_hr = r.classifier_lr = r.oracle = r.baseline = empty;
  r.has_baseline = has_baseline;
  if (model.has_bridge())
    for (int n : o.nfes) {
      r.bridge[n] = empty;
      if (o.mean_samples > 0) r.bridge_mean[n] = empty;
    }
  if (!r.bridge_mean.empty()) r.mean_samples = o.mean_samples;
  r.bootstrap_seed = o.seed;
  return r;
}

// Image i cropped to a multiple of the scale factor `s`; nothing when it is
// smaller than s.
std::optional<ImagePair> image_pair(const Dataset& data, int64_t i, int s, torch::Device device) {
  const torch::Tensor& img = data.image(i);
  const int64_t h = img.size(0) / s * s, w = img.size(1) / s * s;
  if (h == 0 || w == 0) return std::nullopt;
  ImagePair p;
  p.hr = image_to_float(img.slice(0, 0, h).slice(1, 0, w)).to(device);
  p.truth = data.mask(i).slice(0, 0, h).slice(1, 0, w).contiguous();
  p.lr = degrade(p.hr, s);
  return p;
}

// Times per image and agreement scores, once every image is counted.
void finish(EvalReport& r, const Agreement& agree) {
  for (EvalRow* row : {&r.classifier_hr, &r.classifier_lr, &r.oracle, &r.baseline}) row->ms_per_image /= r.images;
  for (auto& [nfe, row] : r.bridge) {
    row.ms_per_image /= r.images;
    row.agreement_with_hr = agree.plain.at(nfe).mean_iou();
  }
  for (auto& [nfe, row] : r.bridge_mean) {
    row.ms_per_image /= r.images;
    row.agreement_with_hr = agree.mean.at(nfe).mean_iou();
  }
}

// How much each bridge row leads the baseline, then the LR path (the same
// images drawn for every pair: one seed).
std::vector<EvalLead> leads(const EvalReport& r, int resamples) {
  std::vector<EvalLead> out;
  if (resamples < 1) return out;
  std::vector<std::pair<std::string, const EvalRow*>> over;
  if (r.has_baseline) over.emplace_back("baseline", &r.baseline);
  over.emplace_back("classifier_lr", &r.classifier_lr);
  for (const auto& [name, other] : over)
    for (const auto& [nfe, row] : r.bridge)
      out.push_back({nfe, name, paired_bootstrap_miou(row.per_image, other->per_image, resamples, r.bootstrap_seed)});
  return out;
}

}  // namespace

std::uint64_t bridge_row_seed(std::uint64_t seed, int nfe) {
  return seed + static_cast<std::uint64_t>(nfe) * 0xD1B54A32D192ED03ULL;
}

std::uint64_t mean_samples_seed(std::uint64_t seed) { return seed + 0x9E3779B97F4A7C15ULL; }

torch::Tensor mean_bridge_probabilities(Model& model, const torch::Tensor& lr01, int samples,
                                        const SampleOptions& options) {
  if (samples < 1)
    throw Error(ErrorKind::kInvalidOption, "need at least one sample to average", "mean_samples");
  if (!model.has_bridge()) return torch::softmax(model.classify_lr(lr01), 1);
  const int64_t s = model.config().scale_factor;
  const torch::Tensor z1 = model.encode_lr(lr01);
  return sum_probabilities(model, z1, lr01.size(2) * s, lr01.size(3) * s, samples, options) / samples;
}

EvalReport evaluate(Model& model, const Dataset& data, const EvalOptions& o, Model* baseline) {
  check_compatible(model, data, baseline);
  const int s = model.config().scale_factor;
  EvalReport r = empty_report(model, data, o, baseline != nullptr);
  Agreement agree;
  for (const auto& [nfe, row] : r.bridge) agree.plain.emplace(nfe, row.confusion);
  for (const auto& [nfe, row] : r.bridge_mean) agree.mean.emplace(nfe, row.confusion);
  torch::NoGradGuard no_grad;
  model.eval();
  if (baseline) baseline->eval();
  std::map<int, RowGenerators> gens = row_generators(o);
  const int64_t n_images = o.max_images > 0 ? std::min<int64_t>(o.max_images, data.size()) : data.size();
  for (int64_t i = 0; i < n_images; ++i) {
    const std::optional<ImagePair> im = image_pair(data, i, s, model.device());
    if (!im) continue;
    const torch::Tensor hr_pred = timed(r.classifier_hr, im->truth, [&] { return model.classify(im->hr); });
    // v1: on LR-up; v2: the LR encoder.
    timed(r.classifier_lr, im->truth, [&] { return model.classify_lr(im->lr); });
    // The oracle: the decoder on E(HR). The default decoder reads nothing
    // else, so it equals classifier_hr; it differs once the decoder reads more.
    timed(r.oracle, im->truth, [&] { return model.decode(model.encode(im->hr), im->truth.size(0), im->truth.size(1)); });
    bridge_rows(model, *im, o, gens, r, agree, hr_pred);
    if (baseline)
      timed(r.baseline, im->truth, [&] { return baseline->segment_lr(im->lr.to(baseline->device())); });
    ++r.images;
    if (o.progress) o.progress(static_cast<int>(i + 1), static_cast<int>(n_images));
  }
  if (r.images == 0)
    throw Error(ErrorKind::kInvalidOption,
                data.source() + ": no image is at least " + std::to_string(s) + " pixels on a side", "data");
  finish(r, agree);
  r.leads = leads(r, o.bootstrap);
  return r;
}

void EvalReport::save_json(const std::string& path) const {
  const std::string j = to_json() + "\n";
  write_file_atomically(path, std::vector<std::uint8_t>(j.begin(), j.end()));
}

std::string EvalReport::to_json() const {
  nlohmann::json j;
  j["images"] = images;
  j["classes"] = nlohmann::json::array();
  for (const ClassInfo& c : classes) j["classes"].push_back(c.name);
  j["boundary_tolerance_px"] = boundary_tolerance;
  j["boundary_band_px"] = boundary_band;
  j["classifier_hr"] = row_json(classifier_hr, classes);
  j["classifier_lr"] = row_json(classifier_lr, classes);
  j["oracle"] = row_json(oracle, classes);
  j["bridge"] = nlohmann::json::object();
  for (const auto& [nfe, row] : bridge) j["bridge"][std::to_string(nfe)] = row_json(row, classes);
  if (!bridge_mean.empty()) {
    j["samples"] = mean_samples;
    for (const auto& [nfe, row] : bridge_mean) j["bridge_mean"][std::to_string(nfe)] = row_json(row, classes);
  }
  if (has_baseline) j["baseline"] = row_json(baseline, classes);
  if (!leads.empty()) {
    j["leads"] = nlohmann::json::array();
    for (const EvalLead& l : leads)
      j["leads"].push_back({{"row", "bridge"},
                            {"nfe", l.nfe},
                            {"over", l.over},
                            {"miou_diff", l.miou.diff},
                            {"ci95", nlohmann::json::array({l.miou.lo, l.miou.hi})},
                            {"resamples", l.miou.resamples},
                            {"seed", bootstrap_seed}});
  }
  return j.dump(2);
}

namespace {

// `s` padded with spaces to `width` characters (UTF-8: "×" is one).
std::string pad(const std::string& s, size_t width) {
  size_t chars = 0;
  for (unsigned char c : s) chars += (c & 0xC0) != 0x80;
  return s + std::string(width > chars ? width - chars : 0, ' ');
}

std::string short_number(double v) { return std::isnan(v) ? "-" : std::to_string(v).substr(0, 6); }

// "bridge NFE 1 − baseline: +0.0098 mIoU (95 % CI +0.0021 … +0.0170, ...)".
std::string lead_line(const EvalLead& l) {
  char line[256];
  const std::string over = l.over == "baseline" ? "baseline" : "LR path (no bridge)";
  std::snprintf(line, sizeof line,
                "bridge NFE %d − %s: %+.4f mIoU (95 %% CI %+.4f … %+.4f, %d paired bootstrap resamples of the "
                "images)\n",
                l.nfe, over.c_str(), l.miou.diff, l.miou.lo, l.miou.hi, l.miou.resamples);
  return line;
}

}  // namespace

std::string EvalReport::to_table() const {
  char line[512], tol[32], band[32];
  std::snprintf(tol, sizeof tol, "%g", boundary_tolerance);
  std::snprintf(band, sizeof band, "%g", 2 * boundary_band);
  std::string out = std::to_string(images) + " images; bndF@" + tol +
                    "px: boundary F-score, class-edge pixels (a 4-neighbour has another label) of prediction and "
                    "truth matched within " + tol + " px, totals over all images; unlabelled truth bands up to " +
                    band + " px wide split at their middle\n";
  const std::string bnd = std::string("bndF@") + tol + "px";
  std::snprintf(line, sizeof line, "%s %7s %9s %9s %9s %10s", pad("row", 22).c_str(), "mIoU", "pixacc", bnd.c_str(),
                "ms/img", "agree-HR");
  out += line;
  for (const ClassInfo& c : classes) out += " " + std::string(c.name).substr(0, 9);
  out += "\n";
  auto add = [&](const std::string& name, const EvalRow& r) {
    std::snprintf(line, sizeof line, "%s %7.4f %9.4f %9.4f %9.1f %10s", pad(name, 22).c_str(), r.confusion.mean_iou(),
                  r.confusion.pixel_accuracy(), r.boundary.f_score(), r.ms_per_image,
                  r.agreement_with_hr >= 0 ? short_number(r.agreement_with_hr).c_str() : "-");
    out += line;
    for (double v : r.confusion.iou()) {
      std::snprintf(line, sizeof line, " %9s", short_number(v).c_str());
      out += line;
    }
    out += "\n";
  };
  add("classifier on HR", classifier_hr);
  add("classifier on LR-up", classifier_lr);
  add("oracle (D on E(HR))", oracle);
  for (const auto& [nfe, row] : bridge) add("bridge NFE " + std::to_string(nfe), row);
  for (const auto& [nfe, row] : bridge_mean)
    add("bridge NFE " + std::to_string(nfe) + " ×" + std::to_string(mean_samples), row);
  if (has_baseline) add("baseline model", baseline);
  for (const EvalLead& l : leads) out += lead_line(l);
  return out;
}

}  // namespace i2sbseg
