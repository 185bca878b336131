// SPDX-License-Identifier: MIT
// The copy-paste segmentation dataset (`i2sbseg make-dataset`, docs/design.md §6):
// photographic RGBA cutouts pasted onto crops of real photos, with exact
// masks from the cutouts' alpha. Torch-free; needs OpenCV.
//
// Output folder:
//   images/<stem>.png  RGB, size x size
//   masks/<stem>.png   8-bit class index per pixel (0 = background)
//   classes.json       {"classes": [{"name", "color"}...]}, background first
//   train.txt, val.txt one stem per line (train_00000, val_00000, ...)
//   dataset.json       provenance: options, pools, every paste in paste order
//
// Distractors (DatasetOptions::distractors > 0): cutouts of the folders the
// class mapping skips, pasted like the class cutouts but labelled
// background, so that "pasted" does not mean "object" to a model.
//
// Realism (DatasetOptions::realism): each paste is feathered, colour- and
// blur-matched to the photo under it, and the finished image gets mild
// noise; the masks are those of the plain build with the same seed, and
// dataset.json records each paste's look and each image's noise.
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include <i2sbseg/config.h>

namespace i2sbseg {

// Which class each cutout folder becomes.
struct ClassMapping {
  std::vector<ClassInfo> classes;  // [0] is the background
  // folder -> class name; "" skips the folder. A folder is a top-level one
  // ("animals") or a path below the cutouts root ("military/vehicles"),
  // whose entry overrides those of the folders above it.
  std::map<std::string, std::string> folders;
  std::string other;                           // class of unlisted folders; "" skips them

  // animals->animal, plants->plant, food->food, vehicles->vehicle,
  // every other folder (symbols, household, people...) skipped.
  static ClassMapping make_default();
  // {"classes": [{"name", "color"}...], "folders": {"animals": "animal"...},
  //  "other": "object" (optional)}; the classes follow <i2sbseg/class_list.h>.
  // A background class is put first if the file has none. Throws Error
  // (kNotFound, kBadFile) naming the file and the entry at fault.
  static ClassMapping from_json_file(const std::string& path);

  // The class for a folder, "" when it is skipped.
  std::string class_for(const std::string& folder) const;
  // The class of a cutout in `dir` ('/'-separated, relative to the cutouts
  // root): the entry of the deepest listed folder on its path, else `other`.
  std::string class_for_path(const std::string& dir) const;
  // Whether a folder on `dir`'s path is listed (rather than left to `other`).
  bool lists_path(const std::string& dir) const;
  int class_index(const std::string& name) const;  // -1 when unknown
};

struct DatasetOptions {
  std::string cutouts_dir;
  std::vector<std::string> backgrounds_dirs;
  // Dataset folders (images/, masks/, classes.json, train.txt and/or
  // val.txt) whose images are backgrounds with their labels: a crop keeps
  // its mask (classes matched by name to the mapping's, 255 kept as
  // unlabelled) and pastes go over it; each image stays in its folder's
  // split. With them, backgrounds_dirs may be empty.
  std::vector<std::string> labelled_backgrounds_dirs;
  std::string out_dir;
  int size = 128;
  int count = 3000;
  std::uint64_t seed = 1;
  std::string classes_file;  // empty: ClassMapping::make_default()
  double val_fraction = 0.2;
  int min_cutouts = 1;
  int max_cutouts = 4;
  int min_colours = 1500;       // a photo has more distinct opaque colours than this
  // A paste's longest side, as a share of the image side, drawn uniformly
  // in [paste_scale_min, paste_scale_max]. Smaller shares make far objects
  // (a pedestrian 40 px tall in a 384x288 frame is 0.14 of it).
  double paste_scale_min = 0.25;
  double paste_scale_max = 0.9;
  int distractors = 0;          // most distractor pastes per image (0..16); 0: none, as before
  bool realism = false;         // paste_cutout_realistic + add_image_noise; false: the bytes of before
  int threads = 2;              // output does not depend on it
  std::ostream* log = nullptr;  // progress and warnings; nullptr: quiet
};

// How the cutouts of one top-level folder fared.
struct CategoryCount {
  std::string class_name;  // "" when the folder is skipped
  bool distractors = false;  // skipped, but its photographs are pasted as distractors
  int kept = 0;
  int drawings = 0;    // too few colours
  int mirrored = 0;    // _mirror / _flip variants
  int cartoons = 0;    // under a folder named "cartoon"
  int duplicates = 0;  // the same pixels kept from another folder
  int too_small = 0;   // too few opaque pixels
  int unusable = 0;    // unreadable or without alpha
};

struct SplitSummary {
  int images = 0;
  int cutouts = 0;
  int backgrounds = 0;
  std::vector<std::int64_t> pixels;     // per class, background included
  std::vector<std::int64_t> instances;  // pastes per class
  int distractors = 0;                  // distractor cutouts in the split's pool
  std::int64_t distractor_pastes = 0;
};

struct DatasetSummary {
  std::vector<ClassInfo> classes;
  std::map<std::string, CategoryCount> categories;
  SplitSummary train, val;
  std::map<std::string, int> skipped_backgrounds;  // reason -> count
  double seconds = 0;
};

// Distinct RGB colours among pixels with alpha > 127 (8-bit BGRA input).
int count_opaque_colours(const cv::Mat& rgba);
// Share of horizontally adjacent opaque pixel pairs with identical colour
// (flat fills of drawings); 1 when there are none.
double flat_fraction(const cv::Mat& rgba);
// More than `min_colours` opaque colours and flat_fraction < 0.5.
bool is_photograph(const cv::Mat& rgba, int min_colours);

// A cutout as the builder keeps it: 8-bit 4 channels, cropped to its alpha's
// bounding box, longest side at most `max_side` (never enlarged).
cv::Mat prepare_cutout(const cv::Mat& rgba, int max_side);
// Resizes with premultiplied alpha (no dark fringes from the colour of
// transparent pixels), then mirrors left-right when `flip`.
cv::Mat scale_cutout(const cv::Mat& rgba, int width, int height, bool flip);

// Alpha-blends `cutout_rgba` (already scaled/flipped; its first three
// channels in the image's channel order) onto `image` with its top-left
// corner at (x, y), which may lie outside the image; sets `mask` to
// `class_index` where alpha > 127. Pixels outside the image are dropped.
void paste_cutout(cv::Mat& image, cv::Mat& mask, const cv::Mat& cutout_rgba, int class_index, int x, int y);

// How paste_cutout_realistic blends one paste: the first two are chosen
// (drawn per paste by the builder), the rest say what was applied.
struct PasteLook {
  double feather_sigma = 0;    // Gaussian on the matte, in pixels at the pasted size; 0: the matte as is
  double colour_fraction = 0;  // share of the way the cutout's mean colour moves toward the covered photo's
  bool match_blur = true;      // blur the cutout when it is much sharper than the photo around it
  double blur_sigma = 0;       // set: the Gaussian applied to the cutout (0..1.5), 0 for none
  cv::Vec3d gain{1, 1, 1};     // set: per-channel colour gain (0.7..1.3), image channel order
};

// paste_cutout for --realism: the same mask (class where alpha > 127), but
// the image gets the cutout colour-matched (gain toward the alpha-weighted
// mean of the pixels it covers), blurred when sharper than the photo there,
// and blended through its matte softened by `look.feather_sigma`, so edges
// may reach a few pixels past the cutout. Returns `look` with what was applied.
PasteLook paste_cutout_realistic(cv::Mat& image, cv::Mat& mask, const cv::Mat& cutout_rgba, int class_index, int x,
                                 int y, PasteLook look);
// Adds Gaussian noise of standard deviation `sigma` (0..255 scale) to every
// channel of every pixel of an 8-bit image, drawn from `rng` (portable draws).
void add_image_noise(cv::Mat& image, double sigma, std::mt19937_64& rng);

// Portable random draws (the same numbers on every standard library).
double uniform01(std::mt19937_64& rng);
int uniform_int(std::mt19937_64& rng, int lo, int hi);  // lo..hi inclusive

// Builds the whole dataset into options.out_dir. Throws Error naming the
// folder, file or value at fault, with its kind and the DatasetOptions
// member (Error::field: "size", "cutouts_dir", "classes_file", ...); skips
// unreadable images with a warning. The same options and seed give
// byte-identical files.
DatasetSummary build_dataset(const DatasetOptions& options);

}  // namespace i2sbseg
