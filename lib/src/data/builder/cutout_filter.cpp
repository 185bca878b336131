// SPDX-License-Identifier: MIT
#include "data/builder/cutout_filter.h"

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <map>
#include <stdexcept>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <i2sbseg/error.h>

#include "data/builder/image_files.h"
#include "data/builder/work_pool.h"

namespace i2sbseg {
namespace builder {
namespace {

namespace fs = std::filesystem;

constexpr int kMinOpaquePixels = 256;  // smaller cutouts are specks once scaled down

enum class Verdict { kKept, kDrawing, kTooSmall, kUnusable };

struct LoadedCutout {
  Verdict verdict = Verdict::kUnusable;
  std::string warning;
  cv::Mat rgba;
};

// A cutout file that passed the name and folder tests.
struct CutoutJob {
  fs::path path;
  std::string rel, category;
  int class_index;  // 0: a distractor
};

LoadedCutout load_cutout(const fs::path& path, int min_colours, int max_side) {
  LoadedCutout r;
  cv::Mat m;
  try {
    m = cv::imread(path.string(), cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception&) {
  }
  if (m.empty()) {
    r.warning = path.string() + ": cannot read, skipped";
    return r;
  }
  if (m.channels() != 4) {
    r.warning = path.string() + ": no alpha channel, skipped";
    return r;
  }
  m = to_8bit(m);
  cv::Mat alpha;
  cv::extractChannel(m, alpha, 3);
  if (cv::countNonZero(alpha > 127) < kMinOpaquePixels) {
    r.verdict = Verdict::kTooSmall;
    return r;
  }
  if (!is_photograph(m, min_colours)) {
    r.verdict = Verdict::kDrawing;
    return r;
  }
  r.verdict = Verdict::kKept;
  r.rgba = prepare_cutout(m, max_side);
  return r;
}

// FNV-1a over size and pixels: finds the same cutout filed twice.
std::uint64_t pixel_hash(const cv::Mat& m) {
  std::uint64_t h = 1469598103934665603ULL;
  auto add = [&h](std::uint8_t b) { h = (h ^ b) * 1099511628211ULL; };
  for (int v : {m.cols, m.rows, m.type()})
    for (int k = 0; k < 4; ++k) add(static_cast<std::uint8_t>(v >> (8 * k)));
  for (int y = 0; y < m.rows; ++y) {
    const std::uint8_t* p = m.ptr<std::uint8_t>(y);
    for (size_t x = 0; x < m.cols * m.elemSize(); ++x) add(p[x]);
  }
  return h;
}

// Tux Paint files its drawn stamps under .../cartoon/; some have enough
// colours (gradients) to pass the photo test.
bool in_cartoon_folder(const fs::path& rel) {
  for (const fs::path& part : rel.parent_path())
    if (lower(part.string()) == "cartoon") return true;
  return false;
}

// A skipped folder's cutouts become distractors when asked for, but never
// symbols/: Tux Paint's letters and signs, drawings kept out by name rather
// than left to the photo test.
bool distractor_folder(const std::string& category, const DatasetOptions& o) {
  return o.distractors > 0 && lower(category) != "symbols";
}

// The PNGs inside category folders whose class is mapped (or that give
// distractors), less the mirrored and cartoon variants (counted in `summary`).
std::vector<CutoutJob> list_cutouts(const DatasetOptions& o, const ClassMapping& mapping, DatasetSummary& summary) {
  std::vector<CutoutJob> jobs;
  const fs::path root = clean_dir(o.cutouts_dir);
  for (const fs::path& p : list_images(root, {".png"}, "cutouts_dir")) {
    const fs::path rel = p.lexically_relative(root);
    if (std::distance(rel.begin(), rel.end()) < 2) continue;  // not inside a category folder
    const std::string category = rel.begin()->string();
    CategoryCount& count = summary.categories[category];
    count.class_name = mapping.class_for(category);  // the summary's: the top-level folder's
    // A sub-folder's own entry may override its category's.
    const std::string cls = mapping.class_for_path(rel.parent_path().generic_string());
    const bool distractor = cls.empty() && distractor_folder(category, o);
    count.distractors = count.distractors || distractor;
    if (cls.empty() && !distractor) continue;
    const std::string name = lower(p.filename().string());
    if (contains(name, "_mirror") || contains(name, "_flip")) {
      ++count.mirrored;
      continue;
    }
    if (in_cartoon_folder(rel)) {
      ++count.cartoons;
      continue;
    }
    jobs.push_back({p, rel.generic_string(), category, distractor ? 0 : mapping.class_index(cls)});
  }
  return jobs;
}

// Which of two copies of a picture keeps it: a class over a distractor (a
// class's picture must never be labelled background), then the class its
// folder names explicitly (people/ over military/ -> "other").
int owner_rank(const CutoutJob& job, const ClassMapping& mapping) {
  return (job.class_index > 0 ? 2 : 0) + (mapping.lists_path(fs::path(job.rel).parent_path().generic_string()) ? 1 : 0);
}

// Per kept picture (by pixel hash), the job that keeps it; the first of
// equal rank.
std::map<std::uint64_t, size_t> pick_owners(const std::vector<CutoutJob>& jobs, const std::vector<LoadedCutout>& loaded,
                                            const std::vector<std::uint64_t>& hashes, const ClassMapping& mapping) {
  std::map<std::uint64_t, size_t> owner;
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (loaded[i].verdict != Verdict::kKept) continue;
    const auto [it, fresh] = owner.emplace(hashes[i], i);
    if (!fresh && owner_rank(jobs[i], mapping) > owner_rank(jobs[it->second], mapping)) it->second = i;
  }
  return owner;
}

void count_rejected(Verdict v, CategoryCount& count) {
  if (v == Verdict::kDrawing) ++count.drawings;
  if (v == Verdict::kTooSmall) ++count.too_small;
  if (v == Verdict::kUnusable) ++count.unusable;
}

// Some class cutouts, and some distractors when they are asked for.
void require_cutouts(const DatasetOptions& o, const std::vector<Cutout>& cutouts) {
  const auto n_distractors = std::count_if(cutouts.begin(), cutouts.end(), is_distractor);
  if (n_distractors == static_cast<std::ptrdiff_t>(cutouts.size()))
    throw Error(ErrorKind::kInvalidOption,
                "cutouts folder " + o.cutouts_dir +
                    ": no photographic RGBA PNG cutouts in its class folders (need more than " +
                    std::to_string(o.min_colours) + " distinct colours)",
                "cutouts_dir");
  if (o.distractors > 0 && n_distractors == 0)
    throw Error(ErrorKind::kInvalidOption,
                "cutouts folder " + o.cutouts_dir +
                    ": no photographic RGBA PNG cutouts in the folders the class mapping skips (symbols/ "
                    "excepted), so there is nothing to paste as distractors",
                "distractors");
}

}  // namespace

std::vector<Cutout> load_cutouts(const DatasetOptions& o, const ClassMapping& mapping, DatasetSummary& summary,
                                 Log& log) {
  const std::vector<CutoutJob> jobs = list_cutouts(o, mapping, summary);
  std::vector<LoadedCutout> loaded(jobs.size());
  std::vector<std::uint64_t> hashes(jobs.size(), 0);
  parallel_for(static_cast<int>(jobs.size()), o.threads, [&](int i) {
    loaded[i] = load_cutout(jobs[i].path, o.min_colours, cutout_max_side(o.size));
    if (loaded[i].verdict == Verdict::kKept) hashes[i] = pixel_hash(loaded[i].rgba);
  });
  const std::map<std::uint64_t, size_t> owner = pick_owners(jobs, loaded, hashes, mapping);
  std::vector<Cutout> out;
  for (size_t i = 0; i < jobs.size(); ++i) {
    CategoryCount& count = summary.categories[jobs[i].category];
    if (!loaded[i].warning.empty()) log.warn(loaded[i].warning);
    if (loaded[i].verdict != Verdict::kKept) {
      count_rejected(loaded[i].verdict, count);
    } else if (owner.at(hashes[i]) != i) {
      ++count.duplicates;
    } else {
      ++count.kept;
      out.push_back({jobs[i].rel, jobs[i].class_index, loaded[i].rgba});
    }
  }
  require_cutouts(o, out);
  return out;
}

}  // namespace builder

int count_opaque_colours(const cv::Mat& rgba) {
  if (rgba.type() != CV_8UC4) throw std::invalid_argument("count_opaque_colours: needs an 8-bit 4-channel image");
  std::vector<std::uint64_t> seen(std::size_t{1} << 18, 0);  // one bit per 24-bit colour
  int n = 0;
  for (int y = 0; y < rgba.rows; ++y) {
    const cv::Vec4b* p = rgba.ptr<cv::Vec4b>(y);
    for (int x = 0; x < rgba.cols; ++x) {
      if (p[x][3] <= 127) continue;
      const std::uint32_t c = p[x][0] | (p[x][1] << 8) | (p[x][2] << 16);
      std::uint64_t& word = seen[c >> 6];
      const std::uint64_t bit = std::uint64_t{1} << (c & 63);
      if (!(word & bit)) {
        word |= bit;
        ++n;
      }
    }
  }
  return n;
}

double flat_fraction(const cv::Mat& rgba) {
  if (rgba.type() != CV_8UC4) throw std::invalid_argument("flat_fraction: needs an 8-bit 4-channel image");
  std::int64_t pairs = 0, same = 0;
  for (int y = 0; y < rgba.rows; ++y) {
    const cv::Vec4b* p = rgba.ptr<cv::Vec4b>(y);
    for (int x = 0; x + 1 < rgba.cols; ++x) {
      if (p[x][3] <= 127 || p[x + 1][3] <= 127) continue;
      ++pairs;
      same += p[x][0] == p[x + 1][0] && p[x][1] == p[x + 1][1] && p[x][2] == p[x + 1][2];
    }
  }
  return pairs ? static_cast<double>(same) / pairs : 1.0;
}

// The colour count alone lets anti-aliased drawings through (Tux Paint's
// pizza: 2800 colours, yet 70% of neighbours identical; photos stay < 35%).
bool is_photograph(const cv::Mat& rgba, int min_colours) {
  return count_opaque_colours(rgba) > min_colours && flat_fraction(rgba) < 0.5;
}

}  // namespace i2sbseg
