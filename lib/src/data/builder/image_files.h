// SPDX-License-Identifier: MIT
// Finding and reading the builder's source images.
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace i2sbseg::builder {

std::string lower(std::string s);
bool contains(const std::string& s, const char* part);

// "a/b/" and "a/b" must give the same relative paths.
std::filesystem::path clean_dir(const std::string& dir);

// Regular files (symlinks followed) under `dir` with one of `exts`
// (lowercase, with the dot), sorted. An unlistable folder throws Error
// (kBadFile) with `field`, the option that named it.
std::vector<std::filesystem::path> list_images(const std::filesystem::path& dir, const std::set<std::string>& exts,
                                               const char* field);

// 16-bit images scaled down to 8 bits; 8-bit ones as they are.
cv::Mat to_8bit(const cv::Mat& m);

}  // namespace i2sbseg::builder
