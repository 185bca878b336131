// SPDX-License-Identifier: MIT
// `eval --report DIR` (needs OpenCV): pictures of an evaluation.
//   examples.png   8 images of the evaluated ones (evenly spaced): LR input
//                  (nearest upscale), ground truth, classifier on HR,
//                  baseline (with one), bridge at the model's default NFE;
//                  class colours, column titles, a legend of the classes
//   class_iou.png  per-class IoU bars, a group per row of the report
//   nfe.png        mIoU and boundary F against NFE for the bridge rows, the
//                  HR, LR-up and baseline rows as horizontal lines
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include <i2sbseg/dataset.h>
#include <i2sbseg/evaluation.h>
#include <i2sbseg/model.h>

namespace i2sbseg::tools {

// What evaluate() was given, for the example pictures.
struct ReportInputs {
  Model* model = nullptr;
  const Dataset* data = nullptr;
  Model* baseline = nullptr;  // may be null
  const EvalOptions* options = nullptr;
};

// Creates `dir` when missing and writes the three pictures; throws Error
// (kWriteFailed) naming the folder or file that could not be written.
void write_eval_report(const std::string& dir, const EvalReport& report, const ReportInputs& in);

// The sheet of examples; the per-class IoU chart (bars in the colours of
// `classes`, the report's classes); the NFE chart.
cv::Mat draw_examples(const ReportInputs& in);
cv::Mat draw_class_iou(const EvalReport& report, const std::vector<ClassInfo>& classes);
cv::Mat draw_nfe_chart(const EvalReport& report);

// `count` indices spread evenly over 0..n-1 (all of them when n <= count).
std::vector<std::int64_t> example_indices(std::int64_t n, int count = 8);

}  // namespace i2sbseg::tools
