// SPDX-License-Identifier: MIT
// `i2sbseg make-clip --image A --mask A_mask [...] --out DIR`: a short
// labelled "moving camera" clip from still images and their class masks, so
// that models can be scored on video with ground truth. Each image/mask pair
// is one segment; the camera pans from its top-left corner to its bottom-right
// one while zooming in (clip_path.h). Writes lr_NNN.png (the LR input),
// mask_NNN.png (the HR ground truth, class indices kept) and clip.json.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <i2sbseg/error.h>

#include "clip_path.h"
#include "commands.h"
#include "size_option.h"

namespace i2sbseg::tools {
namespace {

constexpr int kMaxFrames = 1000;  // the 3-digit file index

struct ClipOptions {
  std::vector<std::string> images, masks;
  std::string out_dir, size = "128x96", zoom = "0.9,0.6";
  int frames = 40, scale = 4;
};

// The options, checked and parsed.
struct ClipPlan {
  int width = 0, height = 0;
  double zoom_from = 0, zoom_to = 0;
};

struct Segment {
  std::string image_path, mask_path;
  cv::Mat image, mask;
  int first_frame = 0, frames = 0;
};

Error invalid(const std::string& message, const std::string& field) {
  return Error(ErrorKind::kInvalidOption, message, field);
}

ClipPlan parse_plan(const ClipOptions& o) {
  ClipPlan p;
  parse_size(o.size, p.width, p.height);
  if (o.scale < 1) throw invalid("--scale is " + std::to_string(o.scale) + "; it must be 1 or more", "scale");
  if (p.width % o.scale != 0 || p.height % o.scale != 0)
    throw invalid("--size " + o.size + " is not divisible by --scale " + std::to_string(o.scale), "size");
  std::smatch m;
  static const std::regex zoom_re("\\s*([0-9]*\\.?[0-9]+)\\s*,\\s*([0-9]*\\.?[0-9]+)\\s*");
  if (!std::regex_match(o.zoom, m, zoom_re))
    throw invalid("--zoom '" + o.zoom + "' is not FROM,TO (e.g. 0.9,0.6)", "zoom");
  p.zoom_from = std::strtod(m[1].str().c_str(), nullptr);
  p.zoom_to = std::strtod(m[2].str().c_str(), nullptr);
  if (!(p.zoom_from > 0 && p.zoom_from <= 1 && p.zoom_to > 0 && p.zoom_to <= 1))
    throw invalid("--zoom " + o.zoom + ": both shares of the image's width must be in (0, 1]", "zoom");
  return p;
}

// Checked first: imread would print a warning of its own on a missing file.
cv::Mat read_image(const std::string& path, int flags) {
  if (!std::filesystem::is_regular_file(path)) throw Error(ErrorKind::kNotFound, path + ": no such file");
  cv::Mat m = cv::imread(path, flags);
  if (m.empty()) throw Error(ErrorKind::kBadFile, path + ": not an image OpenCV can read");
  return m;
}

std::string size_text(const cv::Mat& m) { return std::to_string(m.cols) + "x" + std::to_string(m.rows); }

// The pairs, read, with their share of the frames (the first ones take the remainder).
std::vector<Segment> load_segments(const ClipOptions& o) {
  if (o.images.size() != o.masks.size())
    throw invalid(std::to_string(o.images.size()) + " --image but " + std::to_string(o.masks.size()) +
                      " --mask; give one mask per image, in the same order",
                  "masks");
  const int count = static_cast<int>(o.images.size());
  if (o.frames < 2 * count || o.frames > kMaxFrames)
    throw invalid("--frames is " + std::to_string(o.frames) + "; " + std::to_string(count) +
                      " segment(s) need 2 frames each, and at most " + std::to_string(kMaxFrames),
                  "frames");
  std::vector<Segment> segments;
  for (int k = 0; k < count; ++k) {
    Segment s;
    s.image_path = o.images[k];
    s.mask_path = o.masks[k];
    s.image = read_image(s.image_path, cv::IMREAD_COLOR);
    s.mask = read_image(s.mask_path, cv::IMREAD_UNCHANGED);
    if (s.mask.type() != CV_8UC1)
      throw Error(ErrorKind::kBadFile, s.mask_path + ": not a single-channel 8-bit mask of class indices");
    if (s.mask.size() != s.image.size())
      throw Error(ErrorKind::kBadFile, s.mask_path + " is " + size_text(s.mask) + " but its image " + s.image_path +
                                           " is " + size_text(s.image));
    s.frames = o.frames / count + (k < o.frames % count ? 1 : 0);
    s.first_frame = segments.empty() ? 0 : segments.back().first_frame + segments.back().frames;
    segments.push_back(std::move(s));
  }
  return segments;
}

void write_png(const std::filesystem::path& path, const cv::Mat& m) {
  if (!cv::imwrite(path.string(), m)) throw Error(ErrorKind::kWriteFailed, path.string() + ": cannot write");
}

std::string frame_name(const char* prefix, int index) {
  char name[32];
  std::snprintf(name, sizeof name, "%s_%03d.png", prefix, index);
  return name;
}

void render_segment(const Segment& s, const ClipPlan& p, int scale, const std::filesystem::path& dir) {
  const ClipCamera camera{s.image.cols, s.image.rows, p.width, p.height, p.zoom_from, p.zoom_to};
  const cv::Size hr_size(p.width, p.height), lr_size(p.width / scale, p.height / scale);
  for (int i = 0; i < s.frames; ++i) {
    const ClipWindow w = clip_window(camera, i, s.frames);
    const cv::Rect r(w.x, w.y, w.width, w.height);
    cv::Mat hr, lr, gt;
    const bool shrinking = r.area() > hr_size.area();
    cv::resize(s.image(r), hr, hr_size, 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
    cv::resize(hr, lr, lr_size, 0, 0, cv::INTER_AREA);
    cv::resize(s.mask(r), gt, hr_size, 0, 0, cv::INTER_NEAREST);
    write_png(dir / frame_name("lr", s.first_frame + i), lr);
    write_png(dir / frame_name("mask", s.first_frame + i), gt);
  }
}

void write_manifest(const std::filesystem::path& dir, const std::vector<Segment>& segments, const ClipPlan& p,
                    const ClipOptions& o) {
  nlohmann::json segs = nlohmann::json::array();
  for (const Segment& s : segments)
    segs.push_back({{"image", s.image_path}, {"mask", s.mask_path}, {"first_frame", s.first_frame},
                    {"frames", s.frames}});
  const nlohmann::json j{{"frames", o.frames},
                         {"size", {p.width, p.height}},
                         {"scale", o.scale},
                         {"lr_size", {p.width / o.scale, p.height / o.scale}},
                         {"zoom", {p.zoom_from, p.zoom_to}},
                         {"segments", segs},
                         {"generator", "i2sbseg make-clip"}};
  const std::string path = (dir / "clip.json").string();
  std::ofstream f(path);
  f << j.dump(2) << "\n";
  if (!f) throw Error(ErrorKind::kWriteFailed, path + ": cannot write");
}

// Frames of an earlier, longer clip in `dir` would read as part of this one
// (clip.json says how many there are, but a glob would not): refuse rather
// than delete files that may be someone's.
void refuse_stale_frames(const std::filesystem::path& dir, int frames) {
  for (const char* kind : {"lr", "mask"}) {
    const std::filesystem::path stale = dir / frame_name(kind, frames);
    if (std::filesystem::exists(stale))
      throw Error(ErrorKind::kInvalidOption,
                  stale.string() + " is left from a longer clip: remove the folder's lr_/mask_ files or choose "
                                   "another --out",
                  "out_dir");
  }
}

int run_make_clip(const ClipOptions& o) {
  const ClipPlan p = parse_plan(o);
  const std::vector<Segment> segments = load_segments(o);
  const std::filesystem::path dir(o.out_dir);
  refuse_stale_frames(dir, o.frames);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir))
    throw Error(ErrorKind::kWriteFailed,
                o.out_dir + ": cannot create the folder" + (ec ? " (" + ec.message() + ")" : std::string()), "out_dir");
  for (const Segment& s : segments) render_segment(s, p, o.scale, dir);
  write_manifest(dir, segments, p, o);
  std::printf("make-clip: %d frames (%dx%d in, %dx%d masks) in %s\n", o.frames, p.width / o.scale,
              p.height / o.scale, p.width, p.height, o.out_dir.c_str());
  return 0;
}

}  // namespace

Command add_make_clip_command(CLI::App& app) {
  auto o = std::make_shared<ClipOptions>();
  CLI::App* sub = app.add_subcommand(
      "make-clip", "Render a labelled moving-camera clip (LR frames + HR class masks) from still images and masks");
  sub->add_option("--image", o->images, "Still image, one segment of the clip (repeatable, in order)")->required();
  sub->add_option("--mask", o->masks, "Its class-index mask, 8-bit single channel, 255 unlabelled (one per --image)")
      ->required();
  sub->add_option("--out", o->out_dir, "Output folder (lr_NNN.png, mask_NNN.png, clip.json), created if missing")
      ->required();
  sub->add_option("--frames", o->frames, "Frames in all, split evenly between the segments (2 or more each)")
      ->capture_default_str();
  sub->add_option("--size", o->size, "HR frame (mask) size WxH, divisible by --scale")->capture_default_str();
  sub->add_option("--scale", o->scale, "HR / LR factor")->capture_default_str();
  sub->add_option("--zoom", o->zoom,
                  "FROM,TO: the camera window's width as a share of the image's, at a segment's first and last frame")
      ->capture_default_str();
  return {sub, [o] { return run_make_clip(*o); }};
}

}  // namespace i2sbseg::tools
