// SPDX-License-Identifier: MIT
// The builder's output folder: its layout, stale files and writes. Write
// failures throw Error (kWriteFailed, field "out_dir").
#pragma once

#include <filesystem>
#include <string>

#include <opencv2/core.hpp>

namespace i2sbseg::builder {

// Creates OUT/images and OUT/masks and removes the image files an earlier
// run left there (train_*/val_* only), so the folder holds exactly this run.
void prepare_out_dir(const std::filesystem::path& out);

// "train_00012", "val_00003".
std::string stem_of(bool val, int index);

void write_text(const std::filesystem::path& path, const std::string& text);
void write_png(const std::filesystem::path& path, const cv::Mat& m);

}  // namespace i2sbseg::builder
