// SPDX-License-Identifier: MIT
// Which model file the element loads: the `model` property when set, else
// $I2SBSEG_DEFAULT_MODEL when set, else the model `meson install` puts under
// <datadir>/i2sbseg/default.i2sb (compiled in as I2SBSEG_INSTALLED_MODEL).
#pragma once

#include <string>

namespace i2sbseg_gst {

struct ModelChoice {
  std::string path;
  // Where the path came from, for messages: "the 'model' property", ...
  std::string origin;
};

// Read at each start(), so that the environment may change between streams.
ModelChoice choose_model(const std::string& model_property);

// The installed default model's path (the build's prefix and datadir).
const char* installed_default_model();

}  // namespace i2sbseg_gst
