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
#include <i2sbseg/class_list.h>
#include <i2sbseg/error.h>

#include "common/archive_bytes.h"
#include "common/atomic_file.h"
#include "data/packed_codec.h"

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
  if (!in) throw Error(ErrorKind::kBadFile, p.string() + ": cannot read");
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

// Throws naming `what` (the mask: its file, or the packed file and the
// sample) when `mask` holds a value beyond the k classes of `list` other
// than kIgnoreIndex.
void check_mask(const torch::Tensor& mask, int k, const std::string& what, const std::string& list) {
  const torch::Tensor m = mask.to(torch::kInt);  // k may be 256, beyond uint8
  const torch::Tensor bad = (m >= k) & (m != kIgnoreIndex);
  if (!bad.any().item<bool>()) return;
  throw Error(ErrorKind::kBadFile, what + " holds class index " + std::to_string(m.masked_select(bad).max().item<int>()) +
                                       " but " + list + " has only " + std::to_string(k) + " classes (indices 0 to " +
                                       std::to_string(k - 1) + "; " + std::to_string(kIgnoreIndex) +
                                       " is the ignore value, for unlabelled pixels)");
}

}  // namespace

// The old names of the class-list reader and writer.
std::vector<ClassInfo> parse_classes_json(const std::string& text, const std::string& source) {
  return parse_class_list(text, source);
}

std::string classes_to_json(const std::vector<ClassInfo>& classes) { return class_list_to_json(classes); }

Dataset Dataset::load(const std::string& path, const std::string& split) {
  if (split != "train" && split != "val" && split != "all")
    throw Error(ErrorKind::kInvalidOption, "split must be train, val or all, got '" + split + "'", "split");
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(ErrorKind::kNotFound, path + ": no such dataset folder or file");
  Dataset d = fs::is_directory(path) ? load_folder(path, split) : load_packed(path, split);
  if (d.size() == 0)
    throw Error(ErrorKind::kBadFile, path + ": no images" + (split == "all" ? "" : " in split '" + split + "'"));
  return d;
}

Dataset Dataset::load_folder(const std::string& dir, const std::string& split) {
#ifndef I2SBSEG_HAVE_OPENCV
  throw Error(ErrorKind::kUnsupported,
              dir + ": reading image folders needs OpenCV (this build has none); use a packed dataset file");
#else
  const fs::path root(dir);
  Dataset d;
  d.source_ = dir;
  const fs::path classes_file = root / "classes.json";
  if (!fs::exists(classes_file))
    throw Error(ErrorKind::kNotFound, classes_file.string() + ": missing (the dataset's class list)");
  d.classes_ = parse_classes_json(read_text(classes_file), classes_file.string());
  const fs::path images_dir = root / "images", masks_dir = root / "masks";
  if (!fs::is_directory(images_dir)) throw Error(ErrorKind::kNotFound, images_dir.string() + ": missing images folder");

  // Each split list is read once: it selects images and records their split.
  std::set<std::string> train_stems, val_stems;
  if (fs::exists(root / "train.txt")) train_stems = read_stems(root / "train.txt");
  if (fs::exists(root / "val.txt")) val_stems = read_stems(root / "val.txt");
  if (split != "all" && !fs::exists(root / (split + ".txt")))
    throw Error(ErrorKind::kNotFound,
                (root / (split + ".txt")).string() + ": missing, so the dataset has no '" + split +
                    "' split (it can only be read whole, as split 'all')",
                "split");
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
    if (bgr.empty()) throw Error(ErrorKind::kBadFile, f.string() + ": cannot read image");
    const fs::path mask_file = masks_dir / (stem + ".png");
    if (!fs::exists(mask_file))
      throw Error(ErrorKind::kNotFound, mask_file.string() + ": missing mask for image " + f.string());
    const cv::Mat mask = cv::imread(mask_file.string(), cv::IMREAD_UNCHANGED);
    if (mask.empty()) throw Error(ErrorKind::kBadFile, mask_file.string() + ": cannot read mask");
    if (mask.channels() != 1 || mask.depth() != CV_8U)
      throw Error(ErrorKind::kBadFile, mask_file.string() + ": mask must be a single-channel 8-bit PNG of class indices");
    if (mask.size() != bgr.size())
      throw Error(ErrorKind::kBadFile, mask_file.string() + ": mask is " + std::to_string(mask.cols) + "x" + std::to_string(mask.rows) +
                  " but its image is " + std::to_string(bgr.cols) + "x" + std::to_string(bgr.rows));
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    const std::string s = train_stems.count(stem) ? "train" : val_stems.count(stem) ? "val" : "";
    torch::Tensor labels = mat_to_tensor(mask);
    check_mask(labels, static_cast<int>(d.classes_.size()), mask_file.string() + ": the mask", "classes.json");
    d.add(stem, mat_to_tensor(rgb), std::move(labels), s);
  }
  return d;
#endif
}

void Dataset::check_masks() const {
  for (size_t i = 0; i < masks_.size(); ++i)
    check_mask(masks_[i], static_cast<int>(classes_.size()), source_ + ": the mask of '" + names_[i] + "'",
               "the packed file");
}

void Dataset::add(std::string name, torch::Tensor image, torch::Tensor mask, std::string split) {
  if (image.dim() != 3 || image.size(2) != 3 || image.scalar_type() != torch::kUInt8 || mask.dim() != 2 ||
      mask.scalar_type() != torch::kUInt8 || mask.size(0) != image.size(0) || mask.size(1) != image.size(1))
    throw Error(ErrorKind::kInvalidOption, "dataset sample '" + name + "': need a (H, W, 3) uint8 image and a (H, W) uint8 mask");
  names_.push_back(std::move(name));
  images_.push_back(std::move(image));
  masks_.push_back(std::move(mask));
  splits_.push_back(std::move(split));
}

std::vector<std::int64_t> Dataset::class_pixel_counts() const {
  std::vector<std::int64_t> counts(classes_.size(), 0);
  for (const torch::Tensor& m : masks_) {
    // Every 8-bit value has its bin; kIgnoreIndex's is no class's, even with 256 classes.
    const torch::Tensor h = torch::bincount(m.flatten().to(torch::kLong), {}, 256);
    const int64_t* n = h.data_ptr<int64_t>();
    for (size_t c = 0; c < counts.size(); ++c)
      if (c != kIgnoreIndex) counts[c] += n[c];
  }
  return counts;
}

namespace {

torch::Tensor bytes_tensor(const std::vector<std::uint8_t>& bytes) {
  return torch::from_blob(const_cast<std::uint8_t*>(bytes.data()), {static_cast<int64_t>(bytes.size())}, torch::kUInt8)
      .clone();
}

// Sample i of a "jpeg-rle" packed file: its JPEG image and run-length mask.
void read_compact(torch::serialize::InputArchive& a, std::size_t i, const nlohmann::json& shape, const std::string& file,
                  torch::Tensor& image, torch::Tensor& mask) {
  const std::string what = file + " (image " + std::to_string(i) + ")";
  const torch::Tensor jpeg = archive::read(a, "jpeg." + std::to_string(i)).contiguous();
  const torch::Tensor rle = archive::read(a, "rle." + std::to_string(i)).contiguous();
  const int64_t h = shape.at(0).get<int64_t>(), w = shape.at(1).get<int64_t>();
  int jw = 0, jh = 0;
  std::vector<std::uint8_t> rgb = packed::jpeg_decode(jpeg.data_ptr<std::uint8_t>(), jpeg.numel(), jw, jh, what);
  if (jw != w || jh != h) throw Error(ErrorKind::kBadFile, what + ": its JPEG is not the recorded size");
  image = bytes_tensor(rgb).view({h, w, 3});
  mask = bytes_tensor(packed::rle_decode(rle.data_ptr<std::uint8_t>(), rle.numel(), h * w, what)).view({h, w});
}

}  // namespace

void Dataset::save_packed(const std::string& path, int jpeg_quality) const {
  torch::serialize::OutputArchive a;
  a.write("magic", archive::from_string(kPackedMagic));
  a.write("classes", archive::from_string(classes_to_json(classes_)));
  nlohmann::json meta;
  meta["names"] = names_;
  meta["splits"] = splits_;
  if (jpeg_quality > 0) {
    meta["encoding"] = "jpeg-rle";
    meta["jpeg_quality"] = jpeg_quality;
    meta["shapes"] = nlohmann::json::array();
    for (const torch::Tensor& m : masks_) meta["shapes"].push_back({m.size(0), m.size(1)});
  }
  a.write("meta", archive::from_string(meta.dump()));
  for (size_t i = 0; i < images_.size(); ++i) {
    if (jpeg_quality <= 0) {
      a.write("image." + std::to_string(i), images_[i]);
      a.write("mask." + std::to_string(i), masks_[i]);
      continue;
    }
    const torch::Tensor image = images_[i].contiguous(), mask = masks_[i].contiguous();
    a.write("jpeg." + std::to_string(i),
            bytes_tensor(packed::jpeg_encode(image.data_ptr<std::uint8_t>(), static_cast<int>(image.size(1)),
                                             static_cast<int>(image.size(0)), jpeg_quality)));
    a.write("rle." + std::to_string(i), bytes_tensor(packed::rle_encode(mask.data_ptr<std::uint8_t>(), mask.numel())));
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
    throw Error(ErrorKind::kBadFile, file + ": not a dataset folder or a packed dataset file");
  }
  Dataset all;
  all.source_ = file;
  try {
    if (archive::to_string(archive::read(a, "magic")) != kPackedMagic) throw Error(ErrorKind::kBadFile, file + ": not a packed i2sbseg dataset");
    all.classes_ = parse_classes_json(archive::to_string(archive::read(a, "classes")), file);
    const nlohmann::json meta = nlohmann::json::parse(archive::to_string(archive::read(a, "meta")));
    const auto names = meta.at("names").get<std::vector<std::string>>();
    const auto splits = meta.at("splits").get<std::vector<std::string>>();
    const std::string encoding = meta.value("encoding", "raw");
    if (encoding != "raw" && encoding != "jpeg-rle")
      throw Error(ErrorKind::kBadFile, file + ": unknown packed encoding '" + encoding + "' (a newer i2sbseg wrote it?)");
    for (size_t i = 0; i < names.size(); ++i) {
      if (split != "all" && splits.at(i) != split) continue;
      torch::Tensor image, mask;
      if (encoding == "jpeg-rle") {
        read_compact(a, i, meta.at("shapes").at(i), file, image, mask);
      } else {
        image = archive::read(a, "image." + std::to_string(i));
        mask = archive::read(a, "mask." + std::to_string(i));
      }
      all.add(names[i], image, mask, splits[i]);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(ErrorKind::kBadFile, file + ": damaged packed dataset (" + std::string(e.what()).substr(0, 200) + ")");
  }
  all.check_masks();
  return all;
}

}  // namespace i2sbseg
