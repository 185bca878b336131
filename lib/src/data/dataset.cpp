// SPDX-License-Identifier: MIT
#include <i2sbseg/dataset.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <torch/serialize.h>

#include <i2sbseg/bundle.h>
#include <i2sbseg/error.h>

#include "common/archive_bytes.h"

#ifdef I2SBSEG_HAVE_OPENCV
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

namespace i2sbseg {
namespace fs = std::filesystem;
namespace {

constexpr char kPackedMagic[] = "i2sbseg-dataset-v1";

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  if (!in) throw Error(p.string() + ": cannot read");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::set<std::string> read_stems(const fs::path& p) {
  std::set<std::string> stems;
  std::istringstream in(read_text(p));
  for (std::string line; std::getline(in, line);) {
    line.erase(line.find_last_not_of(" \t\r") + 1);
    if (!line.empty()) stems.insert(line);
  }
  return stems;
}

#ifdef I2SBSEG_HAVE_OPENCV
torch::Tensor mat_to_tensor(const cv::Mat& m) {
  const int c = m.channels();
  torch::Tensor t = torch::from_blob(m.data, {m.rows, m.cols, c}, {static_cast<int64_t>(m.step[0]), c, 1}, torch::kUInt8);
  return c == 1 ? t.squeeze(2).clone() : t.clone();
}
#endif

}  // namespace

std::vector<ClassInfo> parse_classes_json(const std::string& text, const std::string& source) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("classes") || !j["classes"].is_array())
    throw Error(source + ": expected a JSON object with a \"classes\" array");
  std::vector<ClassInfo> out;
  for (const auto& c : j["classes"]) {
    ClassInfo k;
    if (!c.is_object() || !c.contains("name") || !c["name"].is_string() || c["name"].get<std::string>().empty())
      throw Error(source + ": class " + std::to_string(out.size()) + " needs a \"name\"");
    k.name = c["name"].get<std::string>();
    if (c.contains("color")) {
      const auto& col = c["color"];
      if (!col.is_array() || col.size() != 3)
        throw Error(source + ": class '" + k.name + "' colour must be [r, g, b]");
      for (int i = 0; i < 3; ++i) {
        if (!col[i].is_number_integer() || col[i].get<int>() < 0 || col[i].get<int>() > 255)
          throw Error(source + ": class '" + k.name + "' colour values must be integers in [0, 255]");
        k.color[i] = static_cast<std::uint8_t>(col[i].get<int>());
      }
    }
    out.push_back(k);
  }
  if (out.size() < 2 || out.size() > 255) throw Error(source + ": needs 2 to 255 classes, has " + std::to_string(out.size()));
  return out;
}

std::string classes_to_json(const std::vector<ClassInfo>& classes) {
  nlohmann::json j;
  j["classes"] = nlohmann::json::array();
  for (const ClassInfo& k : classes) j["classes"].push_back({{"name", k.name}, {"color", k.color}});
  return j.dump(2);
}

Dataset Dataset::load(const std::string& path, const std::string& split) {
  if (split != "train" && split != "val" && split != "all")
    throw Error("split must be train, val or all, got '" + split + "'");
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path + ": no such dataset folder or file");
  Dataset d = fs::is_directory(path) ? load_folder(path, split) : load_packed(path, split);
  if (d.size() == 0) throw Error(path + ": no images" + (split == "all" ? "" : " in split '" + split + "'"));
  return d;
}

Dataset Dataset::load_folder(const std::string& dir, const std::string& split) {
#ifndef I2SBSEG_HAVE_OPENCV
  throw Error(dir + ": reading image folders needs OpenCV (this build has none); use a packed dataset file");
#else
  const fs::path root(dir);
  Dataset d;
  d.source_ = dir;
  const fs::path classes_file = root / "classes.json";
  if (!fs::exists(classes_file)) throw Error(classes_file.string() + ": missing (the dataset's class list)");
  d.classes_ = parse_classes_json(read_text(classes_file), classes_file.string());
  const fs::path images_dir = root / "images", masks_dir = root / "masks";
  if (!fs::is_directory(images_dir)) throw Error(images_dir.string() + ": missing images folder");

  // Each split list is read once: it selects images and records their split.
  std::set<std::string> train_stems, val_stems;
  if (fs::exists(root / "train.txt")) train_stems = read_stems(root / "train.txt");
  if (fs::exists(root / "val.txt")) val_stems = read_stems(root / "val.txt");
  if (split != "all" && !fs::exists(root / (split + ".txt")))
    throw Error((root / (split + ".txt")).string() + ": missing, so the dataset has no '" + split +
                "' split (use --split all)");
  const std::set<std::string>& wanted = split == "train" ? train_stems : val_stems;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(images_dir)) {
    std::string ext = e.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
    if (e.is_regular_file() && (ext == ".png" || ext == ".jpg" || ext == ".jpeg")) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    const std::string stem = f.stem().string();
    if (split != "all" && !wanted.count(stem)) continue;
    const cv::Mat bgr = cv::imread(f.string(), cv::IMREAD_COLOR);
    if (bgr.empty()) throw Error(f.string() + ": cannot read image");
    const fs::path mask_file = masks_dir / (stem + ".png");
    if (!fs::exists(mask_file)) throw Error(mask_file.string() + ": missing mask for image " + f.string());
    const cv::Mat mask = cv::imread(mask_file.string(), cv::IMREAD_UNCHANGED);
    if (mask.empty()) throw Error(mask_file.string() + ": cannot read mask");
    if (mask.channels() != 1 || mask.depth() != CV_8U)
      throw Error(mask_file.string() + ": mask must be a single-channel 8-bit PNG of class indices");
    if (mask.size() != bgr.size())
      throw Error(mask_file.string() + ": mask is " + std::to_string(mask.cols) + "x" + std::to_string(mask.rows) +
                  " but its image is " + std::to_string(bgr.cols) + "x" + std::to_string(bgr.rows));
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    const std::string s = train_stems.count(stem) ? "train" : val_stems.count(stem) ? "val" : "";
    d.add(stem, mat_to_tensor(rgb), mat_to_tensor(mask), s);
  }
  d.check_masks();
  return d;
#endif
}

void Dataset::check_masks() const {
  const int k = static_cast<int>(classes_.size());
  for (size_t i = 0; i < masks_.size(); ++i) {
    const int top = masks_[i].max().item<int>();
    if (top >= k)
      throw Error(source_ + ": mask of '" + names_[i] + "' holds class index " + std::to_string(top) +
                  " but classes.json lists only " + std::to_string(k) + " classes");
  }
}

void Dataset::add(std::string name, torch::Tensor image, torch::Tensor mask, std::string split) {
  if (image.dim() != 3 || image.size(2) != 3 || image.scalar_type() != torch::kUInt8 || mask.dim() != 2 ||
      mask.scalar_type() != torch::kUInt8 || mask.size(0) != image.size(0) || mask.size(1) != image.size(1))
    throw Error("dataset sample '" + name + "': need a (H, W, 3) uint8 image and a (H, W) uint8 mask");
  names_.push_back(std::move(name));
  images_.push_back(std::move(image));
  masks_.push_back(std::move(mask));
  splits_.push_back(std::move(split));
}

std::vector<std::int64_t> Dataset::class_pixel_counts() const {
  std::vector<std::int64_t> counts(classes_.size(), 0);
  for (const torch::Tensor& m : masks_) {
    const torch::Tensor h = torch::bincount(m.flatten().to(torch::kLong), {}, static_cast<int64_t>(classes_.size()));
    for (size_t c = 0; c < counts.size() && c < static_cast<size_t>(h.size(0)); ++c) counts[c] += h[c].item<int64_t>();
  }
  return counts;
}

void Dataset::save_packed(const std::string& path) const {
  torch::serialize::OutputArchive a;
  a.write("magic", archive::from_string(kPackedMagic));
  a.write("classes", archive::from_string(classes_to_json(classes_)));
  nlohmann::json meta;
  meta["names"] = names_;
  meta["splits"] = splits_;
  a.write("meta", archive::from_string(meta.dump()));
  for (size_t i = 0; i < images_.size(); ++i) {
    a.write("image." + std::to_string(i), images_[i]);
    a.write("mask." + std::to_string(i), masks_[i]);
  }
  std::ostringstream out;
  a.save_to(out);
  const std::string bytes = out.str();
  write_file_atomically(path, std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
}

Dataset Dataset::load_packed(const std::string& file, const std::string& split) {
  torch::serialize::InputArchive a;
  try {
    a.load_from(file);
  } catch (const std::exception&) {
    throw Error(file + ": not a dataset folder or a packed dataset file");
  }
  Dataset all;
  all.source_ = file;
  try {
    if (archive::to_string(archive::read(a, "magic")) != kPackedMagic) throw Error(file + ": not a packed i2sbseg dataset");
    all.classes_ = parse_classes_json(archive::to_string(archive::read(a, "classes")), file);
    const nlohmann::json meta = nlohmann::json::parse(archive::to_string(archive::read(a, "meta")));
    const auto names = meta.at("names").get<std::vector<std::string>>();
    const auto splits = meta.at("splits").get<std::vector<std::string>>();
    for (size_t i = 0; i < names.size(); ++i) {
      if (split != "all" && splits.at(i) != split) continue;
      all.add(names[i], archive::read(a, "image." + std::to_string(i)), archive::read(a, "mask." + std::to_string(i)),
              splits[i]);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(file + ": damaged packed dataset (" + std::string(e.what()).substr(0, 200) + ")");
  }
  all.check_masks();
  return all;
}

}  // namespace i2sbseg
