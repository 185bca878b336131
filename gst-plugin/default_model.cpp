// SPDX-License-Identifier: MIT
#include "default_model.h"

#include <glib.h>

#ifndef I2SBSEG_INSTALLED_MODEL
#error "gst-plugin/meson.build defines I2SBSEG_INSTALLED_MODEL"
#endif

namespace i2sbseg_gst {

const char* installed_default_model() { return I2SBSEG_INSTALLED_MODEL; }

ModelChoice choose_model(const std::string& model_property) {
  if (!model_property.empty()) return {model_property, "set by the 'model' property"};
  const gchar* env = g_getenv("I2SBSEG_DEFAULT_MODEL");
  if (env && *env) return {env, "from $I2SBSEG_DEFAULT_MODEL, as the 'model' property is unset"};
  return {installed_default_model(),
          "the installed default, as neither the 'model' property nor $I2SBSEG_DEFAULT_MODEL is set"};
}

}  // namespace i2sbseg_gst
