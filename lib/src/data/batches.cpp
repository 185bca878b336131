// SPDX-License-Identifier: MIT
#include <i2sbseg/batches.h>

#include <algorithm>
#include <cmath>

#include <torch/nn/functional/conv.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/functional/padding.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/functional/upsampling.h>
#include <torch/nn/functional/vision.h>

#include <i2sbseg/error.h>

namespace i2sbseg {
namespace F = torch::nn::functional;
namespace {

double uniform(at::Generator& gen, double lo, double hi) {
  return lo + (hi - lo) * torch::rand({1}, gen).item<double>();
}

int64_t randint(at::Generator& gen, int64_t hi) {  // [0, hi)
  return hi <= 1 ? 0 : torch::randint(hi, {1}, gen).item<int64_t>();
}

// Separable Gaussian blur of a (1, C, H, W) image, edges replicated.
torch::Tensor gaussian_blur(const torch::Tensor& img, double sigma) {
  const int r = std::max(1, static_cast<int>(std::ceil(2.5 * sigma)));
  std::vector<float> k;
  for (int x = -r; x <= r; ++x) k.push_back(static_cast<float>(std::exp(-0.5 * x * x / (sigma * sigma))));
  torch::Tensor w = torch::tensor(k);
  w = w / w.sum();
  const int64_t c = img.size(1);
  const torch::Tensor wx = w.view({1, 1, 1, 2 * r + 1}).repeat({c, 1, 1, 1});
  const torch::Tensor wy = w.view({1, 1, 2 * r + 1, 1}).repeat({c, 1, 1, 1});
  torch::Tensor out = F::pad(img, F::PadFuncOptions({r, r, r, r}).mode(torch::kReplicate));
  out = F::conv2d(out, wx, F::Conv2dFuncOptions().groups(c));
  return F::conv2d(out, wy, F::Conv2dFuncOptions().groups(c));
}

// Rotates a crop and its mask about the centre; the corners that turn in
// are black and background. The mask is sampled nearest: every value,
// kIgnoreIndex included, is one of its own or 0.
void rotate(torch::Tensor& img, torch::Tensor& mask, double degrees) {
  const double a = degrees * M_PI / 180, c = std::cos(a), s = std::sin(a);
  const torch::Tensor theta = torch::tensor({c, -s, 0.0, s, c, 0.0}, torch::kFloat32).view({1, 2, 3});
  const torch::Tensor grid = F::affine_grid(theta, img.sizes(), false);
  auto options = [](auto mode) { return F::GridSampleFuncOptions().mode(mode).padding_mode(torch::kZeros).align_corners(false); };
  img = F::grid_sample(img, grid, options(torch::kBilinear));
  mask = F::grid_sample(mask, grid, options(torch::kNearest));
}

}  // namespace

torch::Tensor image_to_float(const torch::Tensor& hwc) {
  return hwc.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32).div(255.0);
}

torch::Tensor degrade(const torch::Tensor& hr, int scale) {
  if (scale == 1) return hr;
  if (hr.size(2) % scale || hr.size(3) % scale)
    throw Error(ErrorKind::kInvalidOption, "degrade: image size must be a multiple of the scale factor " + std::to_string(scale));
  return F::avg_pool2d(hr, F::AvgPool2dFuncOptions(scale));
}

torch::Tensor class_weights(const Dataset& data) {
  const std::vector<int64_t> counts = data.class_pixel_counts();
  std::vector<double> w(counts.size(), 0.0);
  double total = 0, sum = 0;
  int present = 0;
  for (int64_t c : counts) total += static_cast<double>(c);
  for (size_t i = 0; i < counts.size(); ++i)
    if (counts[i] > 0) {
      w[i] = 1.0 / std::sqrt(counts[i] / total);
      sum += w[i];
      ++present;
    }
  if (present)  // else no labelled pixel at all: every weight 0
    for (double& v : w) v *= present / sum;
  return torch::tensor(w, torch::kFloat64).to(torch::kFloat32);
}

CrossEntropyTerms cross_entropy_terms(const torch::Tensor& logits, const torch::Tensor& mask,
                                      const torch::Tensor& class_weights) {
  if (logits.dim() != 4 || mask.dim() != 3 || class_weights.dim() != 1 || class_weights.size(0) != logits.size(1))
    throw Error(ErrorKind::kInvalidOption, "cross-entropy: need logits (N, K, H, W), a mask (N, H, W) and K weights");
  const torch::Tensor labelled = mask != kIgnoreIndex;
  const torch::Tensor wl = F::cross_entropy(
      logits, mask, F::CrossEntropyFuncOptions().weight(class_weights).ignore_index(kIgnoreIndex).reduction(torch::kNone));
  // w[truth] of the labelled pixels (the others look up class 0, then count 0).
  const torch::Tensor w = class_weights.index({mask.masked_fill(~labelled, 0)}) * labelled;
  return {wl.sum(), w.sum().item<double>()};
}

torch::Tensor segmentation_loss(const torch::Tensor& logits, const torch::Tensor& mask,
                                const torch::Tensor& class_weights) {
  const CrossEntropyTerms t = cross_entropy_terms(logits, mask, class_weights);
  return t.weight > 0 ? t.sum / t.weight : t.sum * 0.0;  // all unlabelled: 0, not 0/0
}

Batch sample_batch(const Dataset& data, const BatchOptions& o, at::Generator& gen) {
  std::vector<int64_t> indices;
  for (int b = 0; b < o.batch; ++b) indices.push_back(randint(gen, data.size()));
  return make_batch(data, o, gen, indices);
}

Batch make_batch(const Dataset& data, const BatchOptions& o, at::Generator& gen, const std::vector<int64_t>& indices,
                 std::size_t first, std::size_t count) {
  if (o.crop % o.scale)
    throw Error(ErrorKind::kInvalidOption,
                "crop size " + std::to_string(o.crop) + " must be a multiple of the scale factor " +
                    std::to_string(o.scale),
                "crop");
  const std::size_t end = count == 0 ? indices.size() : std::min(indices.size(), first + count);
  std::vector<torch::Tensor> hrs, masks;
  for (std::size_t slot = 0; slot < indices.size(); ++slot) {
    const int64_t i = indices[slot];
    if (i < 0 || i >= data.size()) throw Error(ErrorKind::kInvalidOption, "make_batch: image index " + std::to_string(i) + " out of range");
    const bool build = slot >= first && slot < end;
    // Every slot draws the same numbers whether it is built or not, so that
    // the generator leaves in the same state on every rank.
    int64_t h = data.image(i).size(0), w = data.image(i).size(1);
    // Random zoom 0.75x-1.25x (strong: 0.6x-1.5x).
    const double z = !o.augment ? 1.0 : o.strong ? uniform(gen, 0.6, 1.5) : uniform(gen, 0.75, 1.25);
    if (o.augment) {
      h = std::max<int64_t>(1, std::lround(h * z));
      w = std::max<int64_t>(1, std::lround(w * z));
    }
    const int64_t ph = std::max<int64_t>(0, o.crop - h), pw = std::max<int64_t>(0, o.crop - w);
    const int64_t y = randint(gen, h + ph - o.crop + 1), x = randint(gen, w + pw - o.crop + 1);
    bool flip = false;
    double bright = 0, contrast = 1, sat = 1;
    if (o.augment) {
      flip = uniform(gen, 0, 1) < 0.5;
      // Colour jitter: brightness, contrast, saturation.
      bright = uniform(gen, -0.1, 0.1);
      contrast = uniform(gen, 0.8, 1.2);
      sat = uniform(gen, 0.7, 1.3);
    }
    const double sigma = o.augment && o.blur && uniform(gen, 0, 1) < 0.5 ? uniform(gen, 0.3, 1.5) : 0.0;
    const bool strong = o.augment && o.strong;
    const double degrees = strong ? uniform(gen, -20, 20) : 0.0;
    if (strong && uniform(gen, 0, 1) < 0.15) sat = 0;  // grey: shape over colour
    if (!build) continue;
    torch::Tensor img = image_to_float(data.image(i));
    torch::Tensor mask = data.mask(i).to(torch::kLong).unsqueeze(0).unsqueeze(0).to(torch::kFloat32);
    if (o.augment) {
      img = F::interpolate(img, F::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}).mode(torch::kBilinear).align_corners(false)).clamp(0, 1);
      mask = F::interpolate(mask, F::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}).mode(torch::kNearest));
    }
    // Pad to at least the crop size, then crop.
    if (ph || pw) {
      img = F::pad(img, F::PadFuncOptions({0, pw, 0, ph}));
      mask = F::pad(mask, F::PadFuncOptions({0, pw, 0, ph}));
    }
    img = img.slice(2, y, y + o.crop).slice(3, x, x + o.crop);
    mask = mask.slice(2, y, y + o.crop).slice(3, x, x + o.crop);
    if (o.augment) {
      if (flip) {
        img = img.flip({3});
        mask = mask.flip({3});
      }
      if (sigma > 0) img = gaussian_blur(img, sigma);
      if (degrees != 0) rotate(img, mask, degrees);
      const torch::Tensor grey = img.mean(1, true);
      img = (grey + (img - grey) * sat);
      img = ((img - img.mean()) * contrast + img.mean() + bright).clamp(0, 1);
    }
    hrs.push_back(img.contiguous());
    masks.push_back(mask.squeeze(1).to(torch::kLong));
  }
  if (hrs.empty()) throw Error(ErrorKind::kInvalidOption, "make_batch: no slots to build");
  Batch out;
  out.hr = torch::cat(hrs, 0);
  out.mask = torch::cat(masks, 0);
  out.lr = degrade(out.hr, o.scale);
  return out;
}

}  // namespace i2sbseg
