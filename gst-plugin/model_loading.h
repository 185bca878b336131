// SPDX-License-Identifier: MIT
// The element's start() and stop(): loading the model (or sharing one already
// loaded), reporting why it could not be loaded by the library's error kind,
// and checking the properties that depend on the model (steps_range.h).
#pragma once

#include <gst/base/gstbasetransform.h>

namespace i2sbseg_gst {

gboolean start(GstBaseTransform* trans);
gboolean stop(GstBaseTransform* trans);

}  // namespace i2sbseg_gst
