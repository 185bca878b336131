// SPDX-License-Identifier: MIT
// The builder's options, checked before any slow loading. Errors name the
// DatasetOptions member at fault (Error::field) in the library's terms.
#pragma once

#include <string>

#include <i2sbseg/dataset_builder.h>

namespace i2sbseg::builder {

// Throws Error: kInvalidOption for values out of range, kNotFound for
// missing folders, kWriteFailed when the output folder cannot be made.
void validate(const DatasetOptions& options);

// 0.25 as "0.25", not std::to_string's "0.250000".
std::string format_number(double v);

// `what` ("cutouts folder") and `field` ("cutouts_dir") name it in errors.
void require_folder(const std::string& dir, const char* what, const char* field);

}  // namespace i2sbseg::builder
