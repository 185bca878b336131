// SPDX-License-Identifier: MIT
// --realism (<i2sbseg/dataset_builder.h>): pastes that sit in the photo.
// A plain paste is a sharp, noise-free, differently lit object with a hard
// matte edge, which a model can learn to find by those traits alone. Each
// step works on the cutout as a premultiplied float layer (colour 0..255
// times alpha, alpha 0..1) padded with transparent pixels, so blur and
// feathering may spread past the cutout's box.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>

#include <opencv2/imgproc.hpp>

#include <i2sbseg/dataset_builder.h>

#include "data/builder/realism.h"

namespace i2sbseg {
namespace {

constexpr double kMaxBlurSigma = 1.5;
constexpr double kBlurStep = 0.25;
constexpr double kMuchSharper = 1.5;  // cutout/photo sharpness ratio that calls for a blur
constexpr double kMinGain = 0.7, kMaxGain = 1.3;
constexpr float kTinyAlpha = 1e-4f;
constexpr double kTwoPi = 6.283185307179586;
constexpr int kMinInterior = 16;       // fewer interior pixels: too small to judge its sharpness
constexpr double kMinGradient = 1.5;  // grey levels per pixel: flatter than this tells no sharpness

// Room for the widest feathering plus blur (three sigmas), in pixels.
int layer_pad(double feather_sigma) {
  return static_cast<int>(std::ceil(3 * std::hypot(std::max(0.0, feather_sigma), kMaxBlurSigma)));
}

cv::Mat premultiplied_layer(const cv::Mat& rgba, int pad) {
  cv::Mat f;
  rgba.convertTo(f, CV_32FC4);
  for (int y = 0; y < f.rows; ++y) {
    cv::Vec4f* p = f.ptr<cv::Vec4f>(y);
    for (int x = 0; x < f.cols; ++x) {
      p[x][3] /= 255.f;
      for (int k = 0; k < 3; ++k) p[x][k] *= p[x][3];
    }
  }
  cv::copyMakeBorder(f, f, pad, pad, pad, pad, cv::BORDER_CONSTANT, cv::Scalar::all(0));
  return f;
}

// The part of the image a layer with its top-left corner at (x, y) covers.
cv::Rect covered(const cv::Mat& image, const cv::Mat& layer, int x, int y) {
  return cv::Rect(x, y, layer.cols, layer.rows) & cv::Rect(0, 0, image.cols, image.rows);
}

// Step 2: moves the layer's mean colour `fraction` of the way toward the
// alpha-weighted mean of the photo under its visible part; the gain per
// channel stays in [0.7, 1.3] so a dark photo cannot turn an object black.
cv::Vec3d match_colour(cv::Mat& layer, const cv::Mat& image, int x, int y, double fraction) {
  const cv::Rect r = covered(image, layer, x, y);
  cv::Vec3d cutout_sum(0, 0, 0), photo_sum(0, 0, 0);
  double weight = 0;
  for (int row = 0; row < r.height; ++row) {
    const cv::Vec4f* p = layer.ptr<cv::Vec4f>(r.y - y + row) + (r.x - x);
    const cv::Vec3b* px = image.ptr<cv::Vec3b>(r.y + row) + r.x;
    for (int c = 0; c < r.width; ++c) {
      weight += p[c][3];
      for (int k = 0; k < 3; ++k) cutout_sum[k] += p[c][k], photo_sum[k] += p[c][3] * px[c][k];
    }
  }
  cv::Vec3d gain(1, 1, 1);
  if (weight < 1 || fraction <= 0) return gain;
  for (int k = 0; k < 3; ++k) {
    const double mine = cutout_sum[k] / weight, target = mine + fraction * (photo_sum[k] / weight - mine);
    gain[k] = std::clamp(target / std::max(mine, 1.0), kMinGain, kMaxGain);
  }
  for (int row = 0; row < layer.rows; ++row) {
    cv::Vec4f* p = layer.ptr<cv::Vec4f>(row);
    for (int c = 0; c < layer.cols; ++c)
      for (int k = 0; k < 3; ++k) p[c][k] = std::min(static_cast<float>(p[c][k] * gain[k]), 255.f * p[c][3]);
  }
  return gain;
}

// Sharpness where `where` is set, whatever the contrast or the amount of
// texture: the mean absolute Laplacian over the mean gradient magnitude (an
// edge blurred by s has gradients ~1/s and Laplacians ~1/s^2), so smooth sky
// does not read as a blurred photo. -1 for too little gradient to tell.
double sharpness(const cv::Mat& bgr_float, const cv::Mat& where) {
  cv::Mat grey, lap, dx, dy;
  cv::cvtColor(bgr_float, grey, cv::COLOR_BGR2GRAY);
  cv::Laplacian(grey, lap, CV_32F, 1);
  cv::Sobel(grey, dx, CV_32F, 1, 0, 3, 1.0 / 8);  // grey levels per pixel
  cv::Sobel(grey, dy, CV_32F, 0, 1, 3, 1.0 / 8);
  const double gradient = cv::mean(cv::abs(dx) + cv::abs(dy), where)[0];
  return gradient < kMinGradient ? -1 : cv::mean(cv::abs(lap), where)[0] / gradient;
}

// The layer's own colours (un-premultiplied) on `interior`.
double layer_sharpness(const cv::Mat& layer, const cv::Mat& interior) {
  cv::Mat colour(layer.size(), CV_32FC3);
  for (int y = 0; y < layer.rows; ++y) {
    const cv::Vec4f* p = layer.ptr<cv::Vec4f>(y);
    cv::Vec3f* c = colour.ptr<cv::Vec3f>(y);
    for (int x = 0; x < layer.cols; ++x)
      for (int k = 0; k < 3; ++k) c[x][k] = p[x][3] > kTinyAlpha ? p[x][k] / p[x][3] : 0.f;
  }
  return sharpness(colour, interior);
}

// Step 3: when the cutout's inside is much sharper than the photo it covers
// (a crisp stamp on a defocused or soft part of the photo), the smallest Gaussian
// (0.5..1.5 px) that brings it to the photo's sharpness; returns its sigma.
// The whole layer is blurred, premultiplied: a defocused object's edge is soft too.
double match_blur(cv::Mat& layer, const cv::Mat& image, int x, int y) {
  const cv::Rect r = covered(image, layer, x, y);
  cv::Mat alpha, interior;
  cv::extractChannel(layer, alpha, 3);
  const cv::Mat opaque = alpha > 0.5f;
  cv::erode(opaque, interior, cv::Mat());  // off the matte edge, whose colours are not the object's
  if (r.area() < kMinInterior || cv::countNonZero(interior) < kMinInterior) return 0;
  cv::Mat photo;
  image(r).convertTo(photo, CV_32FC3);
  const double target = sharpness(photo, cv::Mat()), mine = layer_sharpness(layer, interior);
  if (target < 0 || mine <= kMuchSharper * target) return 0;  // mine < 0: a flat cutout, nothing to blur
  cv::Mat blurred;
  for (double sigma = 2 * kBlurStep;; sigma += kBlurStep) {
    cv::GaussianBlur(layer, blurred, cv::Size(), sigma);
    if (sigma >= kMaxBlurSigma || layer_sharpness(blurred, interior) <= target) {  // -1: flattened
      layer = blurred;
      return sigma;
    }
  }
}

// Step 1: the matte softened by a Gaussian, the colours kept; where the
// layer was transparent they come from the neighbours (a normalised blur),
// so the widened edge does not darken toward the transparent pixels' black.
void feather(cv::Mat& layer, double sigma) {
  if (sigma <= 0) return;
  cv::Mat soft;
  cv::GaussianBlur(layer, soft, cv::Size(), sigma);
  for (int y = 0; y < layer.rows; ++y) {
    cv::Vec4f* p = layer.ptr<cv::Vec4f>(y);
    const cv::Vec4f* s = soft.ptr<cv::Vec4f>(y);
    for (int x = 0; x < layer.cols; ++x) {
      const float a = p[x][3], b = s[x][3];
      for (int k = 0; k < 3; ++k) {
        const float colour = a > kTinyAlpha ? p[x][k] / a : (b > kTinyAlpha ? s[x][k] / b : 0.f);
        p[x][k] = colour * b;
      }
      p[x][3] = b;
    }
  }
}

// Premultiplied "over", rounded to 8 bits.
void composite(cv::Mat& image, const cv::Mat& layer, int x, int y) {
  const cv::Rect r = covered(image, layer, x, y);
  for (int row = 0; row < r.height; ++row) {
    const cv::Vec4f* p = layer.ptr<cv::Vec4f>(r.y - y + row) + (r.x - x);
    cv::Vec3b* px = image.ptr<cv::Vec3b>(r.y + row) + r.x;
    for (int c = 0; c < r.width; ++c)
      for (int k = 0; k < 3; ++k) px[c][k] = cv::saturate_cast<std::uint8_t>(p[c][k] + px[c][k] * (1.f - p[c][3]));
  }
}

// The mask exactly as paste_cutout writes it.
void stamp_mask(cv::Mat& mask, const cv::Mat& rgba, int class_index, int x, int y) {
  const cv::Rect r = covered(mask, rgba, x, y);
  for (int row = 0; row < r.height; ++row) {
    const cv::Vec4b* src = rgba.ptr<cv::Vec4b>(r.y - y + row) + (r.x - x);
    std::uint8_t* m = mask.ptr<std::uint8_t>(r.y + row) + r.x;
    for (int c = 0; c < r.width; ++c)
      if (src[c][3] > 127) m[c] = static_cast<std::uint8_t>(class_index);
  }
}

}  // namespace

PasteLook paste_cutout_realistic(cv::Mat& image, cv::Mat& mask, const cv::Mat& cutout_rgba, int class_index, int x,
                                 int y, PasteLook look) {
  if (image.type() != CV_8UC3 || mask.type() != CV_8UC1 || mask.size() != image.size() ||
      cutout_rgba.type() != CV_8UC4 || class_index < 0 || class_index > 255)
    throw std::invalid_argument(
        "paste_cutout_realistic: needs a 3-channel image, a same-size 8-bit mask, an RGBA cutout");
  stamp_mask(mask, cutout_rgba, class_index, x, y);
  const int pad = layer_pad(look.feather_sigma);
  cv::Mat layer = premultiplied_layer(cutout_rgba, pad);
  look.gain = match_colour(layer, image, x - pad, y - pad, look.colour_fraction);
  look.blur_sigma = look.match_blur ? match_blur(layer, image, x - pad, y - pad) : 0;
  feather(layer, look.feather_sigma);
  composite(image, layer, x - pad, y - pad);
  return look;
}

void add_image_noise(cv::Mat& image, double sigma, std::mt19937_64& rng) {
  if (image.depth() != CV_8U) throw std::invalid_argument("add_image_noise: needs an 8-bit image");
  if (sigma <= 0) return;
  const int n = image.cols * image.channels();
  double spare = 0;  // Box-Muller gives normals in pairs
  bool have_spare = false;
  for (int y = 0; y < image.rows; ++y) {
    std::uint8_t* p = image.ptr<std::uint8_t>(y);
    for (int i = 0; i < n; ++i) {
      double z = spare;
      if (!have_spare) {
        const double radius = std::sqrt(-2 * std::log(1 - uniform01(rng))), angle = kTwoPi * uniform01(rng);
        z = radius * std::cos(angle);
        spare = radius * std::sin(angle);
      }
      have_spare = !have_spare;
      p[i] = cv::saturate_cast<std::uint8_t>(p[i] + sigma * z);
    }
  }
}

namespace builder {

PasteLook draw_paste_look(std::mt19937_64& rng) {
  PasteLook look;
  look.feather_sigma = 0.5 + 0.5 * uniform01(rng);
  look.colour_fraction = 0.2 + 0.3 * uniform01(rng);
  return look;
}

double draw_noise_sigma(std::mt19937_64& rng) { return 3 * uniform01(rng); }

}  // namespace builder
}  // namespace i2sbseg
