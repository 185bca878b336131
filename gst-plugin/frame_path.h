// SPDX-License-Identifier: MIT
// The element's transform(): one input frame to one output frame (overlay or
// mask), running the model every `interval` frames, then the frame's metas,
// element message and latency.
#pragma once

#include <gst/base/gstbasetransform.h>

namespace i2sbseg_gst {

GstFlowReturn transform(GstBaseTransform* trans, GstBuffer* inbuf, GstBuffer* outbuf);

}  // namespace i2sbseg_gst
