// SPDX-License-Identifier: MIT
// The element's properties: their registration (names, ranges, blurbs that
// gst-inspect shows) and the GObject getter and setter over Settings.
#pragma once

#include <glib-object.h>

namespace i2sbseg_gst {

void install_properties(GObjectClass* gobject_class);
void set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec);
void get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec);

}  // namespace i2sbseg_gst
