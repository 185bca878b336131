// SPDX-License-Identifier: MIT
// A loaded model behind a torch-free interface, for callers that work on
// packed 8-bit frames (the GStreamer element, applications). Instances with
// the same model file and device share one loaded model (docs/design.md §5).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <i2sbseg/config.h>
#include <i2sbseg/device_id.h>
#include <i2sbseg/pixel_layout.h>
#include <i2sbseg/precision.h>

namespace i2sbseg {

enum class OutputSize {
  kScaled,  // scale_factor x the input size (the model's HR output)
  kInput,   // the input size: HR logits averaged over each scale x scale cell
};

// Where a frame's bytes live: in host memory, or in the model's CUDA device
// memory (a device pointer, e.g. a mapped GstCudaMemory), which the model
// reads and writes in place: no host<->device copy of the frame.
enum class FrameMemory { kHost, kDevice };

// Where segment() draws the overlay in the same pass as the argmax: a frame
// of the class map's size (out_w x out_h), packed like the input.
struct OverlayTarget {
  std::uint8_t* pixels = nullptr;  // in the memory SegmentParams::memory names
  int stride = 0;  // bytes per row
  float alpha = 0.5f;
  Upscale upscale = Upscale::kNearest;
};

struct SegmentParams {
  int nfe = 0;  // bridge steps; 0: the model's default
  bool ot_ode = false;
  std::uint64_t seed = 0;  // the same seed and input give the same output
  OutputSize output_size = OutputSize::kScaled;
  // CPU threads for this call's inference; 0: the count open() resolved
  // ($OMP_NUM_THREADS if set, else one per CPU core). Applied to the calling
  // thread (OpenMP's thread count is per calling thread, so a streaming
  // thread would otherwise run single-threaded).
  int threads = 0;
  // kDevice: `pixels` (and an overlay target's pixels) are device pointers in
  // the memory of the model's CUDA device, read and written there in place
  // (host_input_copies() does not grow); the class map still comes back to
  // the host. A model on the CPU refuses it (kUnsupported, naming the device).
  FrameMemory memory = FrameMemory::kHost;
};

// How open() loads a model. Everything here is applied once, at open();
// nothing in segment() reads the environment or changes process-wide state.
struct SegmenterOptions {
  std::string device = "auto";  // auto, cpu, cuda, cuda:N
  Precision precision = Precision::kAuto;
  // cuDNN's autotuner is one switch for the whole process: the library only
  // turns it on when asked (worth it for streams whose frame size repeats).
  bool cudnn_benchmark = false;
  // Replay the CUDA frame path as one captured graph where the build has
  // them (same numbers, fewer launches).
  bool cuda_graphs = true;
};

// One frame of a segment_batch() call: its own pixels, seed and outputs.
struct BatchFrame {
  const std::uint8_t* pixels = nullptr;  // height rows of stride_bytes
  int stride_bytes = 0;
  std::uint64_t seed = 0;                                // this frame's noise, as segment() draws it
  std::vector<std::uint8_t>* class_map_out = nullptr;    // resized to out_w x out_h
  const OverlayTarget* overlay = nullptr;                // optional, as in segment()
};

class Segmenter {
 public:
  // Loads `model_path` with `options`, or returns the instance already loaded
  // for the same file (canonical path), resolved device and precision.
  // Throws Error naming the file, device or precision and the problem: kind
  // kNotFound when the file is missing, kBadFile when it is not a valid
  // bundle, kUnsupported when the device cannot run the precision,
  // kInvalidOption (field "device") for a malformed or unusable device.
  // `auto_fell_back` (optional) is set when "auto" resolved to the CPU.
  static std::shared_ptr<Segmenter> open(const std::string& model_path, const SegmenterOptions& options = {},
                                         bool* auto_fell_back = nullptr);

  ~Segmenter();
  Segmenter(const Segmenter&) = delete;
  Segmenter& operator=(const Segmenter&) = delete;

  const std::string& model_path() const;  // canonical
  DeviceId device() const;                // resolved: name() is e.g. "cpu", "cuda:0"
  Precision precision() const;            // resolved: never kAuto
  const ModelConfig& config() const;
  int scale_factor() const { return config().scale_factor; }
  int num_classes() const { return config().num_classes(); }
  const std::vector<ClassInfo>& classes() const { return config().classes; }
  int default_nfe() const { return config().default_nfe; }
  bool has_bridge() const { return config().bridge.has_value(); }

  // Per-pixel class indices for one frame. `pixels` holds height rows of
  // stride_bytes. The map is row-major, tightly packed, out_w x out_h:
  // scale_factor x the input size, or the input size (OutputSize::kInput).
  // With `overlay`, the overlay (as draw_overlay would draw it) is written in
  // the same pass as the argmax (on the GPU when the model is there).
  // Thread-safe: calls on a shared model run one at a time. Running out of
  // GPU memory throws Error (kRuntime) naming the frame and output sizes
  // (and the batch), not LibTorch's allocator text alone.
  void segment(const std::uint8_t* pixels, int width, int height, int stride_bytes, PixelLayout layout,
               const SegmentParams& params, std::vector<std::uint8_t>& class_map_out, int& out_w,
               int& out_h, const OverlayTarget* overlay = nullptr);

  // segment() for several frames of one size, layout and params (params.seed
  // is ignored: each frame has its own). On a GPU one pass through encoder,
  // bridge steps and decoder, eagerly (no captured graph); on the CPU the
  // frames one after another within the call (a CPU gains nothing from one
  // pass: docs/design.md §5). Each frame's noise is drawn from its own seed
  // exactly as segment() draws it; the class maps equal N segment() calls'
  // (exactly on the CPU; see §5 for the GPU). Thread-safe like segment().
  void segment_batch(int width, int height, PixelLayout layout, const SegmentParams& params,
                     const std::vector<BatchFrame>& frames, int& out_w, int& out_h);

  // Frames whose pixels this model has copied from host to device memory
  // (CUDA models; every host-memory frame costs one, a kDevice frame none).
  std::uint64_t host_input_copies() const;

  // The map size segment() gives for a width x height input.
  void output_size(int width, int height, OutputSize size, int& out_w, int& out_h) const;

  // Roughly the memory one width x height frame needs: the networks' widest
  // activations and their temporaries at the model's output size (also with
  // OutputSize::kInput, which averages that output).
  double frame_memory_bytes(int width, int height) const;
  // Throws Error naming the size and both amounts when a frame would need
  // more than the CPU's physical memory (CUDA's own out-of-memory error is
  // caught instead), rather than letting the system's OOM killer end the
  // process. segment() calls it; callers may call it early (caps time).
  void check_frame_size(int width, int height) const;

  // dst (w x h, same layout as src) = the source upscaled to w x h
  // (nearest: exact pixel replication at integer scales; bilinear), blended
  // with each pixel's class colour: (1 - alpha) * pixel + alpha * colour.
  // alpha 0 gives the upscaled source exactly (the source itself when the
  // sizes match); a 4th byte (A or x) is upscaled but never blended.
  void draw_overlay(const std::uint8_t* class_map, int w, int h, const std::uint8_t* src, int src_w, int src_h,
                    int src_stride, PixelLayout layout, float alpha, std::uint8_t* dst, int dst_stride,
                    Upscale upscale = Upscale::kNearest) const;

 private:
  struct Impl;
  explicit Segmenter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace i2sbseg
