// SPDX-License-Identifier: MIT

#include <i2sbseg/dataset_builder.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <regex>
#include <set>
#include <stdexcept>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <i2sbseg/error.h>

namespace i2sbseg {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kMinOpaquePixels = 256;  // smaller cutouts are specks once scaled down
constexpr int kProgressEvery = 250;

// Cutouts are kept at up to twice the image size: the largest paste is
// 0.9 x size, so this never enlarges, and memory stays small.
int cutout_max_side(int size) { return 2 * size; }

// ---------------------------------------------------------------- utilities

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// One RNG per (seed, stream, index): seed_seq and mt19937_64 are fully
// specified by the standard, so the draws are the same everywhere, and any
// image can be rendered on any thread.
std::mt19937_64 make_rng(std::uint64_t seed, std::uint32_t stream, std::uint32_t index) {
  std::seed_seq seq{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32), stream, index};
  return std::mt19937_64(seq);
}

// Fisher-Yates with our own draws (std::shuffle differs between libraries).
template <class T>
void shuffle(std::vector<T>& v, std::mt19937_64& rng) {
  for (int i = static_cast<int>(v.size()) - 1; i > 0; --i) std::swap(v[i], v[uniform_int(rng, 0, i)]);
}

// Runs fn(0..n-1) on up to `threads` threads; the first exception is rethrown.
void parallel_for(int n, int threads, const std::function<void(int)>& fn) {
  threads = std::clamp(threads, 1, std::max(n, 1));
  std::atomic<int> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&] {
    for (int i = next++; i < n; i = next++) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next = n;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

// OpenCV's own thread pool would fight ours; restore the caller's setting.
class OpenCvThreadsGuard {
 public:
  OpenCvThreadsGuard() : saved_(cv::getNumThreads()) { cv::setNumThreads(1); }
  ~OpenCvThreadsGuard() { cv::setNumThreads(saved_); }
  OpenCvThreadsGuard(const OpenCvThreadsGuard&) = delete;
  OpenCvThreadsGuard& operator=(const OpenCvThreadsGuard&) = delete;

 private:
  int saved_;
};

class Log {
 public:
  explicit Log(std::ostream* out) : out_(out) {}
  void line(const std::string& s) {
    if (!out_) return;
    std::lock_guard<std::mutex> lock(mutex_);
    *out_ << s << "\n" << std::flush;
  }
  void warn(const std::string& s) { line("warning: " + s); }

 private:
  std::ostream* out_;
  std::mutex mutex_;
};

// "a/b/" and "a/b" must give the same relative paths.
fs::path clean_dir(const std::string& dir) {
  std::string d = dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  return fs::path(d);
}

void require_folder(const std::string& dir, const char* option) {
  std::error_code ec;
  if (dir.empty()) throw Error(std::string(option) + ": no folder given");
  if (!fs::exists(dir, ec)) throw Error(std::string(option) + " " + dir + ": no such folder");
  if (!fs::is_directory(dir, ec)) throw Error(std::string(option) + " " + dir + ": not a folder");
}

// Regular files (symlinks followed) under `dir` with one of `exts`, sorted.
std::vector<fs::path> list_images(const fs::path& dir, const std::set<std::string>& exts) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && exts.count(lower(it->path().extension().string()))) out.push_back(it->path());
  }
  if (ec) throw Error(dir.string() + ": cannot list (" + ec.message() + ")");
  std::sort(out.begin(), out.end(),
            [](const fs::path& a, const fs::path& b) { return a.generic_string() < b.generic_string(); });
  return out;
}

cv::Mat to_8bit(const cv::Mat& m) {
  if (m.depth() == CV_8U) return m;
  cv::Mat out;
  m.convertTo(out, CV_8U, m.depth() == CV_16U ? 1.0 / 257.0 : 1.0);
  return out;
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  if (!f.flush()) throw Error(path.string() + ": cannot write");
}

void write_png(const fs::path& path, const cv::Mat& m) {
  const std::vector<int> params{cv::IMWRITE_PNG_COMPRESSION, 6};
  bool ok = false;
  try {
    ok = cv::imwrite(path.string(), m, params);
  } catch (const cv::Exception&) {
    ok = false;
  }
  if (!ok) throw Error(path.string() + ": cannot write");
}

// ------------------------------------------------------------ class mapping

ClassInfo class_info(const std::string& name, int r, int g, int b) {
  return {name, {static_cast<std::uint8_t>(r), static_cast<std::uint8_t>(g), static_cast<std::uint8_t>(b)}};
}

ClassInfo parse_class(const json& c, const std::string& where) {
  if (!c.is_object() || !c.contains("name") || !c["name"].is_string() || c["name"].get<std::string>().empty())
    throw Error(where + " must be an object with a non-empty \"name\"");
  ClassInfo info{c["name"].get<std::string>(), {0, 0, 0}};
  if (c.contains("color")) {
    const json& col = c["color"];
    if (!col.is_array() || col.size() != 3) throw Error(where + ".color must be [r, g, b]");
    for (int k = 0; k < 3; ++k) {
      if (!col[k].is_number_integer() || col[k].get<int>() < 0 || col[k].get<int>() > 255)
        throw Error(where + ".color must be three integers 0..255");
      info.color[k] = static_cast<std::uint8_t>(col[k].get<int>());
    }
  }
  return info;
}

// A folder's class name from JSON: a string, or null/"" to skip it.
std::string parse_target(const json& v, const ClassMapping& m, const std::string& where) {
  if (v.is_null()) return "";
  if (!v.is_string()) throw Error(where + " must be a class name or null");
  const std::string name = v.get<std::string>();
  if (name.empty()) return "";
  if (m.class_index(name) <= 0) throw Error(where + ": \"" + name + "\" is not one of the (non-background) classes");
  return name;
}

// --------------------------------------------------------------- the pools

struct Cutout {
  std::string file;  // relative to --cutouts, '/'-separated
  int class_index = 0;
  cv::Mat rgba;
};

struct Background {
  std::string file;  // the --backgrounds folder joined with the relative path
  cv::Mat bgr;
};

// Cutouts and backgrounds one split may draw from.
struct Pool {
  std::vector<int> cutouts;                // indices into the cutout list
  std::vector<std::vector<int>> by_class;  // class index -> cutout indices
  std::vector<int> classes;                // classes with cutouts, ascending
  std::vector<int> backgrounds;            // indices into the background list
};

struct Paste {
  int cutout = 0;
  int x = 0, y = 0, width = 0, height = 0;
  bool flipped = false;
};

struct ImageRecord {
  int background = 0;
  int crop_x = 0, crop_y = 0, crop_side = 0;
  bool background_flipped = false;
  std::vector<Paste> pastes;
  std::vector<std::int64_t> pixels;  // per class
};

enum class Verdict { kKept, kDrawing, kTooSmall, kUnusable };

struct LoadedCutout {
  Verdict verdict = Verdict::kUnusable;
  std::string warning;
  cv::Mat rgba;
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

// Reads every cutout under --cutouts/<category>/..., filters and counts.
std::vector<Cutout> load_cutouts(const DatasetOptions& o, const ClassMapping& mapping, DatasetSummary& summary,
                                 Log& log) {
  struct Job {
    fs::path path;
    std::string rel, category;
    int class_index;
  };
  std::vector<Job> jobs;
  const fs::path root = clean_dir(o.cutouts_dir);
  for (const fs::path& p : list_images(root, {".png"})) {
    const fs::path rel = p.lexically_relative(root);
    if (std::distance(rel.begin(), rel.end()) < 2) continue;  // not inside a category folder
    const std::string category = rel.begin()->string();
    CategoryCount& count = summary.categories[category];
    count.class_name = mapping.class_for(category);
    if (count.class_name.empty()) continue;
    const std::string name = lower(p.filename().string());
    if (contains(name, "_mirror") || contains(name, "_flip")) {
      ++count.mirrored;
      continue;
    }
    if (in_cartoon_folder(rel)) {
      ++count.cartoons;
      continue;
    }
    jobs.push_back({p, rel.generic_string(), category, mapping.class_index(count.class_name)});
  }
  std::vector<LoadedCutout> loaded(jobs.size());
  parallel_for(static_cast<int>(jobs.size()), o.threads,
               [&](int i) { loaded[i] = load_cutout(jobs[i].path, o.min_colours, cutout_max_side(o.size)); });
  // The same picture filed in two folders keeps one class: the one its
  // folder names explicitly (people/ over military/ -> "other").
  std::map<std::uint64_t, size_t> winner;
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (loaded[i].verdict != Verdict::kKept) continue;
    const auto [it, fresh] = winner.emplace(pixel_hash(loaded[i].rgba), i);
    if (!fresh && mapping.folders.count(jobs[i].category) && !mapping.folders.count(jobs[it->second].category))
      it->second = i;
  }
  std::vector<Cutout> out;
  for (size_t i = 0; i < jobs.size(); ++i) {
    CategoryCount& count = summary.categories[jobs[i].category];
    if (!loaded[i].warning.empty()) log.warn(loaded[i].warning);
    switch (loaded[i].verdict) {
      case Verdict::kKept:
        if (winner[pixel_hash(loaded[i].rgba)] != i) {
          ++count.duplicates;
          break;
        }
        ++count.kept;
        out.push_back({jobs[i].rel, jobs[i].class_index, loaded[i].rgba});
        break;
      case Verdict::kDrawing:
        ++count.drawings;
        break;
      case Verdict::kTooSmall:
        ++count.too_small;
        break;
      case Verdict::kUnusable:
        ++count.unusable;
        break;
    }
  }
  if (out.empty())
    throw Error("--cutouts " + o.cutouts_dir + ": no photographic RGBA PNG cutouts in its class folders (need > " +
                std::to_string(o.min_colours) + " distinct colours)");
  return out;
}

// Longest side down to ~4x size, shortest side kept >= size: crops at
// several scales stay possible while memory stays small.
cv::Mat shrink_background(const cv::Mat& bgr, int size) {
  const int longest = std::max(bgr.cols, bgr.rows), shortest = std::min(bgr.cols, bgr.rows);
  const double scale = std::min(1.0, std::max(4.0 * size / longest, static_cast<double>(size) / shortest));
  if (scale >= 1.0) return bgr;
  cv::Mat out;
  const cv::Size to(std::max(size, static_cast<int>(std::lround(bgr.cols * scale))),
                    std::max(size, static_cast<int>(std::lround(bgr.rows * scale))));
  cv::resize(bgr, out, to, 0, 0, cv::INTER_AREA);
  return out;
}

std::vector<Background> load_backgrounds(const DatasetOptions& o, DatasetSummary& summary, Log& log) {
  std::vector<std::string> files;
  for (const std::string& dir : o.backgrounds_dirs) {
    require_folder(dir, "--backgrounds");
    const fs::path root = clean_dir(dir);
    for (const fs::path& p : list_images(root, {".png", ".jpg", ".jpeg"})) {
      if (contains(lower(p.filename().string()), "screenshot")) {
        ++summary.skipped_backgrounds["screenshot"];
        continue;
      }
      files.push_back((root / p.lexically_relative(root)).generic_string());
    }
  }
  std::vector<cv::Mat> images(files.size());
  parallel_for(static_cast<int>(files.size()), o.threads, [&](int i) {
    try {
      images[i] = cv::imread(files[i], cv::IMREAD_COLOR);
    } catch (const cv::Exception&) {
    }
  });
  std::vector<Background> out;
  for (size_t i = 0; i < files.size(); ++i) {
    if (images[i].empty()) {
      log.warn(files[i] + ": cannot read, skipped");
      ++summary.skipped_backgrounds["unreadable"];
    } else if (images[i].cols < o.size || images[i].rows < o.size) {
      ++summary.skipped_backgrounds["smaller than --size"];
    } else {
      out.push_back({files[i], shrink_background(images[i], o.size)});
    }
  }
  if (out.empty()) {
    std::string dirs;
    for (const std::string& d : o.backgrounds_dirs) dirs += (dirs.empty() ? "" : ", ") + d;
    throw Error("--backgrounds " + dirs + ": no readable PNG/JPEG images of at least " + std::to_string(o.size) + "x" +
                std::to_string(o.size));
  }
  return out;
}

// Classes that got no cutouts are dropped (the trainer would never see
// them); indices are renumbered densely, background stays 0.
std::vector<ClassInfo> drop_empty_classes(const ClassMapping& mapping, std::vector<Cutout>& cutouts, Log& log) {
  std::vector<int> used(mapping.classes.size(), 0);
  for (const Cutout& c : cutouts) used[c.class_index] = 1;
  std::vector<int> remap(mapping.classes.size(), -1);
  std::vector<ClassInfo> classes{mapping.classes[0]};
  remap[0] = 0;
  for (size_t k = 1; k < mapping.classes.size(); ++k) {
    if (used[k]) {
      remap[k] = static_cast<int>(classes.size());
      classes.push_back(mapping.classes[k]);
    } else {
      log.warn("class \"" + mapping.classes[k].name + "\" has no photographic cutouts; left out of classes.json");
    }
  }
  for (Cutout& c : cutouts) c.class_index = remap[c.class_index];
  return classes;
}

// round(n * fraction) to the validation side, at least one on each side
// once there are two.
int val_share(int n, double fraction) {
  if (n < 2 || fraction <= 0) return 0;
  return std::clamp(static_cast<int>(std::lround(n * fraction)), 1, n - 1);
}

// Splits cutouts per class and backgrounds into train/val pools.
void split_pools(const DatasetOptions& o, const std::vector<Cutout>& cutouts, size_t num_backgrounds, int num_classes,
                 Pool& train, Pool& val, Log& log) {
  for (Pool* p : {&train, &val}) p->by_class.assign(num_classes, {});
  for (int k = 1; k < num_classes; ++k) {
    std::vector<int> members;
    for (size_t i = 0; i < cutouts.size(); ++i)
      if (cutouts[i].class_index == k) members.push_back(static_cast<int>(i));
    std::mt19937_64 rng = make_rng(o.seed, 1, k);
    shuffle(members, rng);
    const int n_val = val_share(static_cast<int>(members.size()), o.val_fraction);
    for (size_t j = 0; j < members.size(); ++j)
      (static_cast<int>(j) < n_val ? val : train).cutouts.push_back(members[j]);
  }
  std::vector<int> bg(num_backgrounds);
  for (size_t i = 0; i < num_backgrounds; ++i) bg[i] = static_cast<int>(i);
  std::mt19937_64 rng = make_rng(o.seed, 2, 0);
  shuffle(bg, rng);
  const int n_val_bg = val_share(static_cast<int>(bg.size()), o.val_fraction);
  for (size_t j = 0; j < bg.size(); ++j) (static_cast<int>(j) < n_val_bg ? val : train).backgrounds.push_back(bg[j]);
  for (Pool* p : {&train, &val}) {
    std::sort(p->cutouts.begin(), p->cutouts.end());
    std::sort(p->backgrounds.begin(), p->backgrounds.end());
    for (int i : p->cutouts) p->by_class[cutouts[i].class_index].push_back(i);
    for (int k = 1; k < num_classes; ++k)
      if (!p->by_class[k].empty()) p->classes.push_back(k);
  }
  if (o.val_fraction > 0 && val.backgrounds.empty()) {
    log.warn("only one background image: validation images reuse it");
    val.backgrounds = train.backgrounds;
  }
}

// The random crop of a background, size x size.
cv::Mat crop_background(const Background& bg, int size, std::mt19937_64& rng, ImageRecord& rec) {
  const int shortest = std::min(bg.bgr.cols, bg.bgr.rows);
  rec.crop_side = uniform_int(rng, std::min(shortest, size), shortest);
  rec.crop_x = uniform_int(rng, 0, bg.bgr.cols - rec.crop_side);
  rec.crop_y = uniform_int(rng, 0, bg.bgr.rows - rec.crop_side);
  rec.background_flipped = uniform01(rng) < 0.5;
  cv::Mat out;
  cv::resize(bg.bgr(cv::Rect(rec.crop_x, rec.crop_y, rec.crop_side, rec.crop_side)), out, cv::Size(size, size), 0, 0,
             rec.crop_side > size ? cv::INTER_AREA : cv::INTER_LINEAR);
  if (rec.background_flipped) cv::flip(out, out, 1);
  return out;
}

// Picks class (uniformly among the pool's classes, so rare classes keep
// their share), cutout, scale, flip and position for one paste.
Paste draw_paste(const Pool& pool, const std::vector<Cutout>& cutouts, int size, std::mt19937_64& rng) {
  const int k = pool.classes[uniform_int(rng, 0, static_cast<int>(pool.classes.size()) - 1)];
  const std::vector<int>& members = pool.by_class[k];
  Paste p;
  p.cutout = members[uniform_int(rng, 0, static_cast<int>(members.size()) - 1)];
  const cv::Mat& c = cutouts[p.cutout].rgba;
  const double longest = size * (0.25 + 0.65 * uniform01(rng));
  const double scale = longest / std::max(c.cols, c.rows);
  p.width = std::max(1, static_cast<int>(std::lround(c.cols * scale)));
  p.height = std::max(1, static_cast<int>(std::lround(c.rows * scale)));
  p.flipped = uniform01(rng) < 0.5;
  // Up to a quarter of the cutout may hang over each edge.
  p.x = uniform_int(rng, -p.width / 4, size - p.width + p.width / 4);
  p.y = uniform_int(rng, -p.height / 4, size - p.height + p.height / 4);
  return p;
}

ImageRecord render_image(const DatasetOptions& o, const Pool& pool, const std::vector<Cutout>& cutouts,
                         const std::vector<Background>& backgrounds, int num_classes, std::mt19937_64 rng,
                         cv::Mat& image, cv::Mat& mask) {
  ImageRecord rec;
  rec.background = pool.backgrounds[uniform_int(rng, 0, static_cast<int>(pool.backgrounds.size()) - 1)];
  image = crop_background(backgrounds[rec.background], o.size, rng, rec);
  mask = cv::Mat::zeros(o.size, o.size, CV_8UC1);
  const int n = uniform_int(rng, o.min_cutouts, o.max_cutouts);
  for (int j = 0; j < n; ++j) {
    const Paste p = draw_paste(pool, cutouts, o.size, rng);
    const Cutout& c = cutouts[p.cutout];
    paste_cutout(image, mask, scale_cutout(c.rgba, p.width, p.height, p.flipped), c.class_index, p.x, p.y);
    rec.pastes.push_back(p);
  }
  rec.pixels.assign(num_classes, 0);
  for (int y = 0; y < mask.rows; ++y) {
    const std::uint8_t* m = mask.ptr<std::uint8_t>(y);
    for (int x = 0; x < mask.cols; ++x) ++rec.pixels[m[x]];
  }
  return rec;
}

void validate(const DatasetOptions& o) {
  if (o.size < 16 || o.size > 8192) throw Error("--size " + std::to_string(o.size) + ": must be 16..8192 pixels");
  if (o.count < 1 || o.count > 10000000) throw Error("--count " + std::to_string(o.count) + ": must be 1..10000000");
  if (!(o.val_fraction >= 0 && o.val_fraction < 1)) throw Error("--val-fraction must be in [0, 1)");
  if (o.min_cutouts < 0) throw Error("--min-cutouts must be >= 0");
  if (o.max_cutouts < o.min_cutouts || o.max_cutouts > 64) throw Error("--max-cutouts must be --min-cutouts..64");
  if (o.min_colours < 0) throw Error("minimum colour count must be >= 0");
  if (o.out_dir.empty()) throw Error("--out: no folder given");
  if (o.backgrounds_dirs.empty()) throw Error("--backgrounds: no folder given");
  require_folder(o.cutouts_dir, "--cutouts");
  for (const std::string& d : o.backgrounds_dirs) require_folder(d, "--backgrounds");
  std::error_code ec;
  fs::create_directories(o.out_dir, ec);  // fail before the slow loading
  if (ec || !fs::is_directory(o.out_dir)) throw Error("--out " + o.out_dir + ": cannot create the folder");
}

// Creates OUT/images and OUT/masks and removes the image files an earlier
// run left there (train_*/val_* only), so the folder holds exactly this run.
void prepare_out_dir(const fs::path& out) {
  static const std::regex ours("(train|val)_[0-9]+\\.png");
  try {
    for (const char* sub : {"images", "masks"}) {
      fs::create_directories(out / sub);
      std::vector<fs::path> stale;
      for (const auto& e : fs::directory_iterator(out / sub))
        if (std::regex_match(e.path().filename().string(), ours)) stale.push_back(e.path());
      for (const fs::path& p : stale) fs::remove(p);
    }
  } catch (const fs::filesystem_error& e) {
    throw Error("--out " + out.string() + ": cannot create or clean (" + e.code().message() + ")");
  }
}

std::string stem_of(bool val, int index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s_%05d", val ? "val" : "train", index);
  return buf;
}

// ------------------------------------------------------------ dataset.json

json classes_json(const std::vector<ClassInfo>& classes) {
  json arr = json::array();
  for (const ClassInfo& c : classes) arr.push_back({{"name", c.name}, {"color", {c.color[0], c.color[1], c.color[2]}}});
  return arr;
}

// classes.json with one class per line, name before colour.
std::string classes_file_text(const std::vector<ClassInfo>& classes) {
  std::string text = "{\"classes\": [";
  for (size_t k = 0; k < classes.size(); ++k) {
    const ClassInfo& c = classes[k];
    nlohmann::ordered_json j{{"name", c.name}, {"color", {c.color[0], c.color[1], c.color[2]}}};
    text += std::string(k ? "," : "") + "\n  " + j.dump();
  }
  return text + "\n]}\n";
}

json per_class(const std::vector<ClassInfo>& classes, const std::vector<std::int64_t>& v) {
  json j = json::object();
  for (size_t k = 0; k < classes.size(); ++k) j[classes[k].name] = v[k];
  return j;
}

json pool_json(const Pool& pool, const std::vector<Cutout>& cutouts, const std::vector<Background>& backgrounds,
               const std::vector<ClassInfo>& classes) {
  json files = json::array(), counts = json::object(), bgs = json::array();
  for (size_t k = 1; k < classes.size(); ++k) counts[classes[k].name] = pool.by_class[k].size();
  for (int i : pool.cutouts)
    files.push_back({{"file", cutouts[i].file}, {"class", classes[cutouts[i].class_index].name}});
  for (int i : pool.backgrounds) bgs.push_back(backgrounds[i].file);
  return {{"cutouts_per_class", counts}, {"cutouts", files}, {"backgrounds", bgs}};
}

json image_json(const std::string& stem, const ImageRecord& r, const std::vector<Cutout>& cutouts,
                const std::vector<Background>& backgrounds, const std::vector<ClassInfo>& classes) {
  json pastes = json::array();
  for (const Paste& p : r.pastes)
    pastes.push_back({{"cutout", cutouts[p.cutout].file},
                      {"class", classes[cutouts[p.cutout].class_index].name},
                      {"x", p.x},
                      {"y", p.y},
                      {"width", p.width},
                      {"height", p.height},
                      {"flipped", p.flipped}});
  return {{"stem", stem},
          {"background",
           {{"file", backgrounds[r.background].file},
            {"x", r.crop_x},
            {"y", r.crop_y},
            {"side", r.crop_side},
            {"flipped", r.background_flipped}}},
          {"pastes", pastes}};
}

// Not --out or --threads: the same dataset built elsewhere is the same file.
json options_json(const DatasetOptions& o) {
  return {{"cutouts", o.cutouts_dir},
          {"backgrounds", o.backgrounds_dirs},
          {"size", o.size},
          {"count", o.count},
          {"seed", o.seed},
          {"classes_file", o.classes_file},
          {"val_fraction", o.val_fraction},
          {"min_cutouts", o.min_cutouts},
          {"max_cutouts", o.max_cutouts},
          {"min_colours", o.min_colours},
          {"cutout_max_side", cutout_max_side(o.size)}};
}

json summary_json(const SplitSummary& s, const std::vector<ClassInfo>& classes) {
  return {{"images", s.images},
          {"cutouts", s.cutouts},
          {"backgrounds", s.backgrounds},
          {"pixels", per_class(classes, s.pixels)},
          {"instances", per_class(classes, s.instances)}};
}

// Pretty-printed, with one line per image so the file stays readable.
std::string dataset_json_text(json head, const std::vector<std::string>& stems, const std::vector<ImageRecord>& records,
                              const std::vector<Cutout>& cutouts, const std::vector<Background>& backgrounds,
                              const std::vector<ClassInfo>& classes) {
  std::string text = head.dump(2);
  text.pop_back();  // the closing brace
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  text += ",\n  \"images\": [";
  for (size_t i = 0; i < records.size(); ++i)
    text +=
        std::string(i ? "," : "") + "\n    " + image_json(stems[i], records[i], cutouts, backgrounds, classes).dump();
  text += "\n  ]\n}\n";
  return text;
}

}  // namespace

// ================================================================ public API

ClassMapping ClassMapping::make_default() {
  ClassMapping m;
  m.classes = {class_info("background", 0, 0, 0),  class_info("animal", 230, 25, 75),
               class_info("plant", 60, 180, 75),   class_info("food", 255, 225, 25),
               class_info("vehicle", 0, 130, 200), class_info("object", 145, 30, 180)};
  // people/ has 3 photographs: too few for a class of its own, so it joins "object".
  m.folders = {{"animals", "animal"}, {"plants", "plant"}, {"food", "food"}, {"vehicles", "vehicle"}, {"symbols", ""}};
  m.other = "object";
  return m;
}

ClassMapping ClassMapping::from_json_file(const std::string& path) {
  std::ifstream f(path);
  if (!f || fs::is_directory(path)) throw Error("--classes " + path + ": cannot read the file");
  json j;
  try {
    j = json::parse(f);
  } catch (const json::exception& e) {
    throw Error("--classes " + path + ": not valid JSON (" + e.what() + ")");
  }
  const std::string where = "--classes " + path + ": ";
  if (!j.is_object() || !j.contains("classes") || !j["classes"].is_array() || j["classes"].empty())
    throw Error(where + "needs a non-empty \"classes\" array");
  ClassMapping m;
  for (size_t k = 0; k < j["classes"].size(); ++k) {
    const ClassInfo c = parse_class(j["classes"][k], where + "classes[" + std::to_string(k) + "]");
    if (m.class_index(c.name) >= 0) throw Error(where + "class \"" + c.name + "\" is listed twice");
    if (c.name == "background" && k != 0) throw Error(where + "\"background\" must be the first class");
    m.classes.push_back(c);
  }
  if (m.classes[0].name != "background") m.classes.insert(m.classes.begin(), class_info("background", 0, 0, 0));
  if (!j.contains("folders") || !j["folders"].is_object()) throw Error(where + "needs a \"folders\" object");
  for (const auto& [folder, target] : j["folders"].items())
    m.folders[folder] = parse_target(target, m, where + "folders." + folder);
  if (j.contains("other")) m.other = parse_target(j["other"], m, where + "other");
  return m;
}

std::string ClassMapping::class_for(const std::string& folder) const {
  const auto it = folders.find(folder);
  return it == folders.end() ? other : it->second;
}

int ClassMapping::class_index(const std::string& name) const {
  for (size_t k = 0; k < classes.size(); ++k)
    if (classes[k].name == name) return static_cast<int>(k);
  return -1;
}

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

cv::Mat prepare_cutout(const cv::Mat& rgba, int max_side) {
  if (rgba.type() != CV_8UC4) throw std::invalid_argument("prepare_cutout: needs an 8-bit 4-channel image");
  cv::Mat alpha;
  cv::extractChannel(rgba, alpha, 3);
  const cv::Rect box = cv::boundingRect(alpha);  // non-zero pixels
  if (box.empty()) return cv::Mat();
  const cv::Mat cropped = rgba(box);
  const int longest = std::max(box.width, box.height);
  if (longest <= max_side) return cropped.clone();
  const double s = static_cast<double>(max_side) / longest;
  return scale_cutout(cropped, std::max(1, static_cast<int>(std::lround(box.width * s))),
                      std::max(1, static_cast<int>(std::lround(box.height * s))), false);
}

cv::Mat scale_cutout(const cv::Mat& rgba, int width, int height, bool flip) {
  if (rgba.type() != CV_8UC4 || width < 1 || height < 1)
    throw std::invalid_argument("scale_cutout: needs an 8-bit 4-channel image and a positive size");
  cv::Mat out;
  if (width == rgba.cols && height == rgba.rows) {
    out = rgba.clone();
  } else {
    cv::Mat f;
    rgba.convertTo(f, CV_32FC4, 1.0 / 255.0);
    for (int y = 0; y < f.rows; ++y) {
      cv::Vec4f* p = f.ptr<cv::Vec4f>(y);
      for (int x = 0; x < f.cols; ++x)
        for (int k = 0; k < 3; ++k) p[x][k] *= p[x][3];
    }
    const bool shrink = width <= rgba.cols && height <= rgba.rows;
    cv::resize(f, f, cv::Size(width, height), 0, 0, shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
    for (int y = 0; y < f.rows; ++y) {
      cv::Vec4f* p = f.ptr<cv::Vec4f>(y);
      for (int x = 0; x < f.cols; ++x)
        for (int k = 0; k < 3; ++k) p[x][k] = p[x][3] > 0 ? p[x][k] / p[x][3] : 0.f;
    }
    f.convertTo(out, CV_8UC4, 255.0);
  }
  if (flip) cv::flip(out, out, 1);
  return out;
}

void paste_cutout(cv::Mat& image, cv::Mat& mask, const cv::Mat& cutout_rgba, int class_index, int x, int y) {
  if (image.type() != CV_8UC3 || mask.type() != CV_8UC1 || mask.size() != image.size() ||
      cutout_rgba.type() != CV_8UC4 || class_index < 0 || class_index > 255)
    throw std::invalid_argument("paste_cutout: needs a 3-channel image, a same-size 8-bit mask, an RGBA cutout");
  const cv::Rect dst = cv::Rect(x, y, cutout_rgba.cols, cutout_rgba.rows) & cv::Rect(0, 0, image.cols, image.rows);
  for (int r = 0; r < dst.height; ++r) {
    const cv::Vec4b* src = cutout_rgba.ptr<cv::Vec4b>(dst.y - y + r) + (dst.x - x);
    cv::Vec3b* px = image.ptr<cv::Vec3b>(dst.y + r) + dst.x;
    std::uint8_t* m = mask.ptr<std::uint8_t>(dst.y + r) + dst.x;
    for (int c = 0; c < dst.width; ++c) {
      const int a = src[c][3];
      if (a == 0) continue;
      for (int k = 0; k < 3; ++k)
        px[c][k] = static_cast<std::uint8_t>((src[c][k] * a + px[c][k] * (255 - a) + 127) / 255);
      if (a > 127) m[c] = static_cast<std::uint8_t>(class_index);
    }
  }
}

double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0); }

int uniform_int(std::mt19937_64& rng, int lo, int hi) {
  if (hi <= lo) return lo;
  const double span = static_cast<double>(hi) - lo + 1;
  return std::min(hi, lo + static_cast<int>(uniform01(rng) * span));
}

DatasetSummary build_dataset(const DatasetOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  validate(o);
  Log log(o.log);
  OpenCvThreadsGuard cv_threads;
  const ClassMapping mapping =
      o.classes_file.empty() ? ClassMapping::make_default() : ClassMapping::from_json_file(o.classes_file);
  DatasetSummary summary;
  std::vector<Cutout> cutouts = load_cutouts(o, mapping, summary, log);
  const std::vector<Background> backgrounds = load_backgrounds(o, summary, log);
  summary.classes = drop_empty_classes(mapping, cutouts, log);
  const int num_classes = static_cast<int>(summary.classes.size());

  Pool train, val;
  split_pools(o, cutouts, backgrounds.size(), num_classes, train, val, log);
  const int n_val = static_cast<int>(std::lround(o.count * o.val_fraction));
  const int n_train = o.count - n_val;
  if (n_val > 0 && val.classes.empty() && o.max_cutouts > 0)
    throw Error("--val-fraction " + std::to_string(o.val_fraction) +
                ": no class has 2 or more cutouts, so validation images would get none (use --val-fraction 0)");

  const fs::path out(o.out_dir);
  prepare_out_dir(out);
  std::vector<std::string> stems(o.count);
  std::vector<ImageRecord> records(o.count);
  std::atomic<int> done{0};
  const auto t_gen = std::chrono::steady_clock::now();
  parallel_for(o.count, o.threads, [&](int i) {
    const bool is_val = i >= n_train;
    const int index = is_val ? i - n_train : i;
    stems[i] = stem_of(is_val, index);
    cv::Mat image, mask;
    records[i] = render_image(o, is_val ? val : train, cutouts, backgrounds, num_classes,
                              make_rng(o.seed, is_val ? 4 : 3, index), image, mask);
    write_png(out / "images" / (stems[i] + ".png"), image);
    write_png(out / "masks" / (stems[i] + ".png"), mask);
    const int n = ++done;
    if (n % kProgressEvery == 0 || n == o.count) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_gen).count();
      char buf[128];
      std::snprintf(buf, sizeof buf, "make-dataset: %d/%d images, %.1f images/s", n, o.count, s > 0 ? n / s : 0.0);
      log.line(buf);
    }
  });

  // Statistics and the text files, in image order.
  for (auto [split, pool, first, n] :
       {std::make_tuple(&summary.train, &train, 0, n_train), std::make_tuple(&summary.val, &val, n_train, n_val)}) {
    split->images = n;
    split->cutouts = static_cast<int>(pool->cutouts.size());
    split->backgrounds = static_cast<int>(pool->backgrounds.size());
    split->pixels.assign(num_classes, 0);
    split->instances.assign(num_classes, 0);
    for (int i = first; i < first + n; ++i) {
      for (int k = 0; k < num_classes; ++k) split->pixels[k] += records[i].pixels[k];
      for (const Paste& p : records[i].pastes) ++split->instances[cutouts[p.cutout].class_index];
    }
  }
  std::string train_txt, val_txt;
  for (int i = 0; i < o.count; ++i) (i < n_train ? train_txt : val_txt) += stems[i] + "\n";
  write_text(out / "train.txt", train_txt);
  write_text(out / "val.txt", val_txt);
  write_text(out / "classes.json", classes_file_text(summary.classes));

  json categories = json::object();
  for (const auto& [name, c] : summary.categories)
    categories[name] = {{"class", c.class_name},    {"kept", c.kept},         {"drawings", c.drawings},
                        {"mirrored", c.mirrored},   {"cartoons", c.cartoons}, {"duplicates", c.duplicates},
                        {"too_small", c.too_small}, {"unusable", c.unusable}};
  json folders = json::object();
  for (const auto& [folder, cls] : mapping.folders) folders[folder] = cls.empty() ? json(nullptr) : json(cls);
  const json head = {
      {"generator", "i2sbseg make-dataset"},
      {"options", options_json(o)},
      {"seed", o.seed},
      {"classes", classes_json(summary.classes)},
      {"class_mapping", {{"folders", folders}, {"other", mapping.other.empty() ? json(nullptr) : json(mapping.other)}}},
      {"categories", categories},
      {"skipped_backgrounds", summary.skipped_backgrounds},
      {"train", pool_json(train, cutouts, backgrounds, summary.classes)},
      {"val", pool_json(val, cutouts, backgrounds, summary.classes)},
      {"summary",
       {{"train", summary_json(summary.train, summary.classes)}, {"val", summary_json(summary.val, summary.classes)}}},
  };
  write_text(out / "dataset.json", dataset_json_text(head, stems, records, cutouts, backgrounds, summary.classes));
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return summary;
}

}  // namespace i2sbseg
