// SPDX-License-Identifier: MIT
// The i2sbseg element: a GstBaseTransform that segments each frame at the
// model's scale factor x its size (docs/design.md §5). Its types are in
// gsti2sbseg_types.h; this header adds what the plugin registers.
#pragma once

#include "gsti2sbseg_types.h"

G_BEGIN_DECLS

GST_ELEMENT_REGISTER_DECLARE(i2sbseg);

G_END_DECLS
