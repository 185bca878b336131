// SPDX-License-Identifier: MIT
// The plugin: one element, i2sbseg.
#include <gst/gst.h>

#include "gsti2sbseg.h"

static gboolean plugin_init(GstPlugin* plugin) { return GST_ELEMENT_REGISTER(i2sbseg, plugin); }

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, i2sbseg,
                  "Super-resolution segmentation with an image-to-image Schroedinger bridge", plugin_init,
                  I2SBSEG_VERSION, "MIT/X11", "i2sbseg", "file:///usr/share/doc/i2sbseg")
