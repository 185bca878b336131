// SPDX-License-Identifier: MIT
// The values of the `steps` property a loaded model takes: a fact of the
// model, read once when start() opens it, and checked where `steps` is set
// (set_property) and at start, never per frame.
#pragma once

#include <glib.h>

#include <string>

#include <i2sbseg/segmenter.h>

namespace i2sbseg_gst {

struct StepsRange {
  // 0 (the model's default) or 1 to max_steps; max_steps 0: no model is
  // loaded, or it has no bridge (which ignores steps): any value is taken.
  guint max_steps = 0;
  int default_steps = 0;
  int schedule_steps = 0;
  std::string model_path;
};

StepsRange steps_range(const i2sbseg::Segmenter& segmenter);

// Why `steps` cannot run under `range`, as a sentence naming the property,
// the model and the allowed values; "" when it can.
std::string steps_problem(const StepsRange& range, guint steps);

}  // namespace i2sbseg_gst
