// SPDX-License-Identifier: MIT
// The Segmenter's CUDA frame path: frames onto the device (or read where they
// already are), the fused argmax + overlay, and the one path that copies a
// device frame (bilinear overlays, drawn on the CPU).
#include <cstring>

#include <i2sbseg/cuda_kernels.h>

#include "infer/cuda_stream.h"
#include "infer/segmenter_impl.h"

namespace i2sbseg {

namespace {

// Bytes from a frame's first pixel to the end of its last row's pixels.
std::size_t frame_bytes(const Frame& f) {
  return static_cast<std::size_t>(f.stride) * (f.height - 1) +
         static_cast<std::size_t>(f.width) * f.layout.bytes_per_pixel;
}

// `rows` rows of `row_bytes` bytes, `stride` apart, at `p` on `device`.
torch::Tensor device_rows(const std::uint8_t* p, int rows, int64_t row_bytes, int stride, torch::Device device) {
  return torch::from_blob(const_cast<std::uint8_t*>(p), {rows, row_bytes}, {stride, 1},
                          torch::TensorOptions().dtype(torch::kUInt8).device(device));
}

}  // namespace

std::vector<const std::uint8_t*> Segmenter::Impl::frames_on_device(const std::vector<Frame>& frames) {
  if (!cuda::compiled()) throw Error("this build of i2sbseg has no CUDA kernels (built without nvcc)");
  std::vector<const std::uint8_t*> out;
  if (frames.front().memory == FrameMemory::kDevice) {  // read in place: no staging, no copy
    for (const Frame& f : frames) out.push_back(f.pixels);
    return out;
  }
  // All of a call's frames through one pinned buffer and one copy (each
  // batch frame has its own stride, so its own size).
  std::vector<std::size_t> offsets{0};
  for (const Frame& f : frames) offsets.push_back(offsets.back() + frame_bytes(f));
  const auto total = static_cast<int64_t>(offsets.back());
  const auto u8 = torch::TensorOptions().dtype(torch::kUInt8);
  ensure(host_in, {total}, u8.pinned_memory(true));
  ensure(dev_in, {total}, u8.device(device));
  for (std::size_t i = 0; i < frames.size(); ++i)
    std::memcpy(host_in.data_ptr<std::uint8_t>() + offsets[i], frames[i].pixels, offsets[i + 1] - offsets[i]);
  dev_in.copy_(host_in, /*non_blocking=*/true);
  host_copies += frames.size();
  for (std::size_t i = 0; i < frames.size(); ++i) out.push_back(dev_in.data_ptr<std::uint8_t>() + offsets[i]);
  return out;
}

void Segmenter::Impl::planes_gpu(const std::uint8_t* src, const Frame& f, float* dst) {
  const float mean[3] = {0, 0, 0}, unit[3] = {1, 1, 1};
  check_cuda(cuda::packed_to_planes(src, f.width, f.height, f.stride, f.layout, mean, unit, dst,
                                    current_cuda_stream(device.index())),
             "CUDA input conversion");
}

void Segmenter::Impl::classes_gpu(const torch::Tensor& logits, const Frame& f, const std::uint8_t* src,
                                  std::uint8_t* map, const OverlayTarget* overlay) {
  const StagedClasses staged = classes_gpu_start(logits, f, src, map, overlay, 0, 1);
  // Also the caller's device overlay: it is handed on right after.
  wait_for_current_stream(device.index());
  classes_gpu_finish(staged);
}

Segmenter::Impl::StagedClasses Segmenter::Impl::classes_gpu_start(const torch::Tensor& logits, const Frame& f,
                                                                  const std::uint8_t* src, std::uint8_t* map,
                                                                  const OverlayTarget* overlay, int64_t slot,
                                                                  int64_t slots) {
  const int k = static_cast<int>(logits.size(1)), out_h = static_cast<int>(logits.size(2)),
            out_w = static_cast<int>(logits.size(3)), bpp = f.layout.bytes_per_pixel;
  const auto plane = static_cast<int64_t>(out_w) * out_h;
  const bool in_place = f.memory == FrameMemory::kDevice;  // the overlay target is device memory too
  // Fused argmax (+ nearest upscale and blend) at output size; bilinear
  // overlays are drawn on the CPU from the class map.
  const bool draw = overlay && (overlay->upscale == Upscale::kNearest || (out_w == f.width && out_h == f.height));
  const auto u8 = torch::TensorOptions().dtype(torch::kUInt8);
  // One row per frame of the call: every slot's copy may be in flight at once.
  ensure(dev_classes, {slots, plane}, u8.device(device));
  ensure(host_classes, {slots, plane}, u8.pinned_memory(true));
  cuda::OverlayArgs args;
  if (draw) {
    if (!dev_palette.defined()) dev_palette = torch::tensor(frame_ops::palette(model.config().classes), u8).to(device);
    std::uint8_t* dst = overlay->pixels;
    int dst_stride = overlay->stride;
    if (!in_place) {  // staged, then copied into the host target by finish()
      ensure(dev_out, {slots, plane * bpp}, u8.device(device));
      ensure(host_out, {slots, plane * bpp}, u8.pinned_memory(true));
      dst = dev_out.data_ptr<std::uint8_t>() + slot * plane * bpp;
      dst_stride = out_w * bpp;
    }
    args = {dev_palette.data_ptr<std::uint8_t>(), frame_ops::alpha256(overlay->alpha), src, f.width, f.height,
            f.stride, dst, dst_stride, f.layout};
  }
  check_cuda(cuda::argmax_overlay(logits.data_ptr<float>(), k, out_w, out_h,
                                  dev_classes.data_ptr<std::uint8_t>() + slot * plane, draw ? &args : nullptr,
                                  current_cuda_stream(device.index())),
             "CUDA argmax/overlay");
  host_classes[slot].copy_(dev_classes[slot], /*non_blocking=*/true);
  if (draw && !in_place) host_out[slot].copy_(dev_out[slot], /*non_blocking=*/true);
  return {&f, map, overlay, out_w, out_h, draw, slot};
}

void Segmenter::Impl::classes_gpu_finish(const StagedClasses& staged) {
  const Frame& f = *staged.frame;
  const int out_w = staged.out_w, out_h = staged.out_h, bpp = f.layout.bytes_per_pixel;
  const auto plane = static_cast<int64_t>(out_w) * out_h;
  const bool in_place = f.memory == FrameMemory::kDevice;
  std::memcpy(staged.map, host_classes.data_ptr<std::uint8_t>() + staged.slot * plane,
              static_cast<std::size_t>(plane));
  if (staged.drawn && !in_place) {
    const std::uint8_t* rows = host_out.data_ptr<std::uint8_t>() + staged.slot * plane * bpp;
    const std::size_t row = static_cast<std::size_t>(out_w) * bpp;
    for (int y = 0; y < out_h; ++y)
      std::memcpy(staged.overlay->pixels + static_cast<std::size_t>(y) * staged.overlay->stride, rows + y * row, row);
  } else if (staged.overlay && !staged.drawn) {
    if (in_place)
      paint_device_overlay(staged.map, out_w, out_h, f, *staged.overlay);
    else
      paint_overlay(staged.map, out_w, out_h, f, *staged.overlay, model.config().classes);
  }
}

void Segmenter::Impl::paint_device_overlay(const std::uint8_t* map, int w, int h, const Frame& f,
                                           const OverlayTarget& target) {
  // The bilinear painter runs on the CPU: the frame comes to the host and
  // the overlay goes back, the one kDevice path that copies (docs/design.md).
  const int bpp = f.layout.bytes_per_pixel;
  const torch::Tensor src =
      device_rows(f.pixels, f.height, int64_t{f.width} * bpp, f.stride, device).to(torch::kCPU).contiguous();
  const torch::Tensor out = torch::empty({h, int64_t{w} * bpp}, torch::TensorOptions().dtype(torch::kUInt8));
  const Frame host{src.data_ptr<std::uint8_t>(), f.width, f.height, f.width * bpp, f.layout};
  paint_overlay(map, w, h, host, {out.data_ptr<std::uint8_t>(), w * bpp, target.alpha, target.upscale},
                model.config().classes);
  device_rows(target.pixels, h, int64_t{w} * bpp, target.stride, device).copy_(out);
  wait_for_current_stream(device.index());
}

}  // namespace i2sbseg
