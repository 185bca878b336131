// SPDX-License-Identifier: MIT
#include <i2sbseg/evaluation.h>

#include <chrono>
#include <cmath>
#include <cstdio>

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

void count(ConfusionMatrix& m, const torch::Tensor& pred, const torch::Tensor& truth) {
  m.add(pred.data_ptr<std::uint8_t>(), truth.data_ptr<std::uint8_t>(), static_cast<size_t>(truth.numel()));
}

// Runs `f`, adds its prediction to the row and its time to `ms`.
template <typename Fn>
torch::Tensor timed(EvalRow& row, const torch::Tensor& truth, Fn&& f) {
  const auto t0 = Clock::now();
  const torch::Tensor pred = argmax_u8(f());
  row.ms_per_image += std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  count(row.confusion, pred, truth);
  return pred;
}

nlohmann::json row_json(const EvalRow& r, const std::vector<ClassInfo>& classes) {
  nlohmann::json j{{"miou", r.confusion.mean_iou()},
                   {"pixel_acc", r.confusion.pixel_accuracy()},
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

}  // namespace

EvalReport evaluate(Model& model, const Dataset& data, const EvalOptions& o, Model* baseline) {
  check_compatible(model, data, baseline);
  const int k = model.config().num_classes();
  const int s = model.config().scale_factor;
  EvalReport r;
  r.classes = data.classes();
  const EvalRow empty{ConfusionMatrix(k)};
  r.classifier_hr = r.classifier_lr = r.oracle = empty;
  if (model.has_bridge())
    for (int n : o.nfes) r.bridge[n] = empty;
  std::map<int, ConfusionMatrix> agree;
  for (int n : o.nfes) agree.emplace(n, ConfusionMatrix(k));
  if (baseline) {
    r.has_baseline = true;
    r.baseline = empty;
  }
  torch::NoGradGuard no_grad;
  model.eval();
  if (baseline) baseline->eval();
  at::Generator gen = make_generator(o.seed);
  const int64_t n_images = o.max_images > 0 ? std::min<int64_t>(o.max_images, data.size()) : data.size();
  for (int64_t i = 0; i < n_images; ++i) {
    const torch::Tensor& img = data.image(i);
    const int64_t h = img.size(0) / s * s, w = img.size(1) / s * s;
    if (h == 0 || w == 0) continue;
    const torch::Tensor hr = image_to_float(img.slice(0, 0, h).slice(1, 0, w)).to(model.device());
    const torch::Tensor truth = data.mask(i).slice(0, 0, h).slice(1, 0, w).contiguous();
    const torch::Tensor lr = degrade(hr, s);
    const torch::Tensor hr_pred = timed(r.classifier_hr, truth, [&] { return model.classify(hr); });
    timed(r.classifier_lr, truth, [&] { return model.classify_lr(lr); });  // v1: on LR-up; v2: the LR encoder
    // The oracle: the decoder on E(HR). The default decoder reads nothing
    // else, so it equals classifier_hr; it differs once the decoder reads more.
    timed(r.oracle, truth, [&] { return model.decode(model.encode(hr), h, w); });
    for (auto& [nfe, row] : r.bridge) {
      const torch::Tensor pred = timed(row, truth, [&] { return model.segment_lr(lr, {nfe, o.ot_ode, &gen}); });
      count(agree.at(nfe), pred, hr_pred);
    }
    if (baseline) timed(r.baseline, truth, [&] { return baseline->segment_lr(lr.to(baseline->device())); });
    ++r.images;
    if (o.progress) o.progress(static_cast<int>(i + 1), static_cast<int>(n_images));
  }
  if (r.images == 0)
    throw Error(ErrorKind::kInvalidOption,
                data.source() + ": no image is at least " + std::to_string(s) + " pixels on a side", "data");
  for (EvalRow* row : {&r.classifier_hr, &r.classifier_lr, &r.oracle, &r.baseline}) row->ms_per_image /= r.images;
  for (auto& [nfe, row] : r.bridge) {
    row.ms_per_image /= r.images;
    row.agreement_with_hr = agree.at(nfe).mean_iou();
  }
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
  j["classifier_hr"] = row_json(classifier_hr, classes);
  j["classifier_lr"] = row_json(classifier_lr, classes);
  j["oracle"] = row_json(oracle, classes);
  j["bridge"] = nlohmann::json::object();
  for (const auto& [nfe, row] : bridge) j["bridge"][std::to_string(nfe)] = row_json(row, classes);
  if (has_baseline) j["baseline"] = row_json(baseline, classes);
  return j.dump(2);
}

std::string EvalReport::to_table() const {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%d images\n%-22s %7s %9s %9s %10s", images, "row", "mIoU", "pixacc", "ms/img", "agree-HR");
  out += line;
  for (const ClassInfo& c : classes) out += " " + std::string(c.name).substr(0, 9);
  out += "\n";
  auto add = [&](const std::string& name, const EvalRow& r) {
    std::snprintf(line, sizeof line, "%-22s %7.4f %9.4f %9.1f %10s", name.c_str(), r.confusion.mean_iou(),
                  r.confusion.pixel_accuracy(), r.ms_per_image,
                  r.agreement_with_hr >= 0 ? std::to_string(r.agreement_with_hr).substr(0, 6).c_str() : "-");
    out += line;
    for (double v : r.confusion.iou()) {
      std::snprintf(line, sizeof line, " %9s", std::isnan(v) ? "-" : std::to_string(v).substr(0, 6).c_str());
      out += line;
    }
    out += "\n";
  };
  add("classifier on HR", classifier_hr);
  add("classifier on LR-up", classifier_lr);
  add("oracle (D on E(HR))", oracle);
  for (const auto& [nfe, row] : bridge) add("bridge NFE " + std::to_string(nfe), row);
  if (has_baseline) add("baseline model", baseline);
  return out;
}

}  // namespace i2sbseg
