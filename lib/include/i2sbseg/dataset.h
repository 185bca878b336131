// SPDX-License-Identifier: MIT
// A segmentation dataset in memory (docs/design.md §6): RGB images and class-index
// masks, read from an image folder (needs OpenCV) or from a packed tensor
// file (LibTorch only, for machines without OpenCV).
//
// Folder layout: images/<stem>.png|jpg, masks/<stem>.png (8-bit class
// indices, same size; kIgnoreIndex = 255 marks unlabelled pixels),
// classes.json {"classes": [{"name", "color"}, ...]}, optional train.txt /
// val.txt listing stems.
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

#include <i2sbseg/class_list.h>
#include <i2sbseg/config.h>

namespace i2sbseg {

class Dataset {
 public:
  // split: "train", "val" or "all". A folder without train.txt/val.txt has
  // no split: "all" is the only valid choice then (a missing list throws
  // kNotFound with field "split"). Throws Error naming the file at fault
  // (missing mask, size mismatch, a mask value beyond classes.json other
  // than kIgnoreIndex, unreadable image, no images).
  static Dataset load(const std::string& path, const std::string& split);

  // Writes every sample of this dataset (with its split) to one file: raw
  // pixels, or with jpeg_quality 1..100 the images as JPEG and the masks
  // run-length coded (lossless), about a tenth of the size; reading that
  // back needs libjpeg (Error kUnsupported without).
  void save_packed(const std::string& path, int jpeg_quality = 0) const;

  std::int64_t size() const { return static_cast<std::int64_t>(images_.size()); }
  const std::vector<ClassInfo>& classes() const { return classes_; }
  const std::string& source() const { return source_; }
  const std::string& name(std::int64_t i) const { return names_.at(i); }
  // (H, W, 3) uint8 RGB.
  const torch::Tensor& image(std::int64_t i) const { return images_.at(i); }
  // (H, W) uint8 class indices, or kIgnoreIndex for unlabelled pixels.
  const torch::Tensor& mask(std::int64_t i) const { return masks_.at(i); }
  // Pixels of each class over the whole dataset (unlabelled ones in none).
  std::vector<std::int64_t> class_pixel_counts() const;

  // For tests and tools that build datasets in memory.
  void add(std::string name, torch::Tensor image, torch::Tensor mask, std::string split = "");
  void set_classes(std::vector<ClassInfo> classes) { classes_ = std::move(classes); }

 private:
  static Dataset load_folder(const std::string& dir, const std::string& split);
  static Dataset load_packed(const std::string& file, const std::string& split);
  void check_masks() const;

  std::string source_;
  std::vector<ClassInfo> classes_;
  std::vector<std::string> names_, splits_;
  std::vector<torch::Tensor> images_, masks_;
};

// The class list's reader and writer (<i2sbseg/class_list.h>) by their
// older names; errors name `source`.
std::vector<ClassInfo> parse_classes_json(const std::string& text, const std::string& source);
std::string classes_to_json(const std::vector<ClassInfo>& classes);

}  // namespace i2sbseg
