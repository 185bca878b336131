// SPDX-License-Identifier: MIT
// `eval --report`: the folder, the files and the sheet of examples; the
// charts are in eval_charts.cpp.
#include "eval_report.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include <i2sbseg/batches.h>
#include <i2sbseg/bridge.h>
#include <i2sbseg/error.h>

#include "eval_report_draw.h"
#include "eval_report_layout.h"

namespace i2sbseg::tools {
namespace {

torch::Tensor argmax_labels(const torch::Tensor& logits) { return logits.argmax(1).squeeze(0); }

// The pictures of example image i, in column order (LR input, truth,
// classifier on HR, baseline, bridge); none when the image is smaller than
// the scale factor (evaluate() skips it too).
std::vector<cv::Mat> example_pictures(const ReportInputs& in, std::int64_t i, at::Generator& gen) {
  Model& model = *in.model;
  const std::vector<ClassInfo>& classes = model.config().classes;
  const int s = model.config().scale_factor;
  const torch::Tensor& img = in.data->image(i);
  const int64_t h = img.size(0) / s * s, w = img.size(1) / s * s;
  if (h == 0 || w == 0) return {};
  const torch::Tensor hr = image_to_float(img.slice(0, 0, h).slice(1, 0, w)).to(model.device());
  const torch::Tensor lr = degrade(hr, s);
  const torch::Tensor lr_u8 = (lr.squeeze(0).permute({1, 2, 0}) * 255).round().clamp(0, 255).to(torch::kUInt8);
  std::vector<cv::Mat> out(1);
  cv::resize(rgb_picture(lr_u8), out[0], cv::Size(static_cast<int>(w), static_cast<int>(h)), 0, 0, cv::INTER_NEAREST);
  out.push_back(colour_labels(in.data->mask(i).slice(0, 0, h).slice(1, 0, w), classes));
  out.push_back(colour_labels(argmax_labels(model.classify(hr)), classes));
  if (in.baseline)
    out.push_back(colour_labels(argmax_labels(in.baseline->segment_lr(lr.to(in.baseline->device()))), classes));
  out.push_back(colour_labels(argmax_labels(model.segment_lr(lr, {0, in.options->ot_ode, &gen})), classes));
  return out;
}

std::vector<std::string> column_titles(const ReportInputs& in) {
  const ModelConfig& c = in.model->config();
  std::vector<std::string> t{"LR input (x" + std::to_string(c.scale_factor) + ")", "ground truth", "classifier on HR"};
  if (in.baseline) t.push_back("baseline");
  t.push_back(in.model->has_bridge() ? "bridge NFE " + std::to_string(c.default_nfe) : "model (no bridge)");
  return t;
}

void write_png(const std::string& path, const cv::Mat& picture) {
  std::vector<std::uint8_t> bytes;
  bool encoded = false;
  try {
    encoded = cv::imencode(".png", picture, bytes);
  } catch (const cv::Exception&) {
  }
  if (!encoded) throw Error(ErrorKind::kWriteFailed, path + ": cannot encode the picture as PNG");
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) throw Error(ErrorKind::kWriteFailed, path + ": cannot write the picture (" + std::strerror(errno) + ")");
}

}  // namespace

std::vector<std::int64_t> example_indices(std::int64_t n, int count) {
  std::vector<std::int64_t> out;
  if (n <= count) {
    for (std::int64_t i = 0; i < n; ++i) out.push_back(i);
    return out;
  }
  for (int k = 0; k < count; ++k) out.push_back(k * n / count);
  return out;
}

cv::Mat draw_examples(const ReportInputs& in) {
  torch::NoGradGuard no_grad;
  in.model->eval();
  if (in.baseline) in.baseline->eval();
  at::Generator gen = make_generator(in.options->seed);
  const std::int64_t size = in.data->size();
  const std::int64_t n = in.options->max_images > 0 ? std::min<std::int64_t>(in.options->max_images, size) : size;
  std::vector<std::vector<cv::Mat>> rows;
  int largest = 1;
  for (std::int64_t i : example_indices(n)) {
    std::vector<cv::Mat> pictures = example_pictures(in, i, gen);
    if (pictures.empty()) continue;
    largest = std::max({largest, pictures[1].cols, pictures[1].rows});
    rows.push_back(std::move(pictures));
  }
  const std::vector<std::string> titles = column_titles(in);
  const SheetLayout l = sheet_layout(static_cast<int>(rows.size()), static_cast<int>(titles.size()), largest);
  const std::vector<LegendItem> legend = class_legend(in.model->config().classes);
  const int legend_width = l.width() - 2 * l.margin;
  cv::Mat sheet(l.legend_top() + legend_height(legend, legend_width) + l.margin, l.width(), CV_8UC3, kWhite);
  for (size_t c = 0; c < titles.size(); ++c)
    put_text_centred(sheet, titles[c], l.column_x(static_cast<int>(c)) + l.column_width / 2, l.margin + 16);
  for (size_t r = 0; r < rows.size(); ++r)
    for (size_t c = 0; c < titles.size(); ++c)
      paste_fitted(sheet, rows[r][c], {l.picture_x(static_cast<int>(c)), l.row_y(static_cast<int>(r))}, l.cell);
  draw_legend(sheet, legend, l.margin, l.legend_top(), legend_width);
  return sheet;
}

void write_eval_report(const std::string& dir, const EvalReport& report, const ReportInputs& in) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir))
    throw Error(ErrorKind::kWriteFailed,
                dir + ": cannot create the report folder" + (ec ? " (" + ec.message() + ")" : std::string()));
  const std::filesystem::path d(dir);
  write_png((d / "examples.png").string(), draw_examples(in));
  write_png((d / "class_iou.png").string(), draw_class_iou(report, in.model->config().classes));
  write_png((d / "nfe.png").string(), draw_nfe_chart(report));
}

}  // namespace i2sbseg::tools
