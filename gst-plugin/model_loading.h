// SPDX-License-Identifier: MIT
// The element's start() and stop(): loading the model (or sharing one already
// loaded), reporting why it could not be loaded by the library's error kind,
// and checking the properties that depend on the model.
#pragma once

#include <gst/base/gstbasetransform.h>

#include <string>

#include <i2sbseg/segmenter.h>

namespace i2sbseg_gst {

gboolean start(GstBaseTransform* trans);
gboolean stop(GstBaseTransform* trans);

// Why `steps` cannot run on `segmenter`'s model, as a sentence naming the
// property and the allowed range; "" when it can (or the model has no bridge,
// which ignores it). Checked in start() and, as steps may change while
// PLAYING, per frame.
std::string steps_problem(const i2sbseg::Segmenter& segmenter, guint steps);

}  // namespace i2sbseg_gst
