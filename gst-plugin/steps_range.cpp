// SPDX-License-Identifier: MIT
#include "steps_range.h"

namespace i2sbseg_gst {

StepsRange steps_range(const i2sbseg::Segmenter& segmenter) {
  StepsRange r;
  if (!segmenter.has_bridge()) return r;
  r.schedule_steps = segmenter.config().schedule.steps;
  r.max_steps = static_cast<guint>(r.schedule_steps - 1);  // NFE < the schedule's steps
  r.default_steps = segmenter.default_nfe();
  r.model_path = segmenter.model_path();
  return r;
}

std::string steps_problem(const StepsRange& range, guint steps) {
  if (range.max_steps == 0 || steps <= range.max_steps) return "";
  return "Property 'steps' is " + std::to_string(steps) + ", but model '" + range.model_path +
         "' allows 0 (its default of " + std::to_string(range.default_steps) + ") or 1 to " +
         std::to_string(range.max_steps) + " (below its schedule's " + std::to_string(range.schedule_steps) +
         " steps)";
}

}  // namespace i2sbseg_gst
