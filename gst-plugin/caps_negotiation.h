// SPDX-License-Identifier: MIT
// The element's caps: what each side allows given the other (the model's
// scale factor between them, GRAY8 in mask mode), fixation, and the
// negotiated stream state (set_caps).
#pragma once

#include <gst/base/gstbasetransform.h>

namespace i2sbseg_gst {

GstCaps* transform_caps(GstBaseTransform* trans, GstPadDirection direction, GstCaps* caps, GstCaps* filter);
GstCaps* fixate_caps(GstBaseTransform* trans, GstPadDirection direction, GstCaps* caps, GstCaps* othercaps);
gboolean set_caps(GstBaseTransform* trans, GstCaps* incaps, GstCaps* outcaps);
gboolean transform_size(GstBaseTransform* trans, GstPadDirection direction, GstCaps* caps, gsize size,
                        GstCaps* othercaps, gsize* othersize);

}  // namespace i2sbseg_gst
