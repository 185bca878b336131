// SPDX-License-Identifier: MIT
// Model-level timings for `i2sbseg bench` (docs/design.md §7): the reference
// points taken side by side in one run, on the same inputs and threads.
// Torch-free header; the element-in-a-pipeline timings are in bench_element.h.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <i2sbseg/precision.h>

namespace i2sbseg {

struct BenchOptions {
  std::string model;
  std::string device = "cpu";  // cpu, cuda, cuda:N, auto
  Precision precision = Precision::kFp32;
  // On CUDA: let cuDNN time its algorithms per shape (a process-wide switch;
  // this process is the tool's own) and replay the frame path as a CUDA graph.
  bool cudnn_benchmark = true;
  bool cuda_graphs = true;
  int width = 0, height = 0;      // HR (output) size; 0: 128 x 128
  int frames = 10;                // timed runs per measurement (median)
  int warmup = 2;
  std::vector<int> nfes{1, 2, 4, 10};
  int threads = 0;                // 0: $OMP_NUM_THREADS, else one per core
  bool pixel = true;              // also time the pixel-space bridge
  bool frame = true;              // also time Segmenter (bytes in, overlay out)
  bool channels_last = false;     // model timings with channels-last weights and inputs
  bool contiguous = false;        // model timings in NCHW even where inference uses channels-last
};

struct BenchReport {
  std::string device;
  Precision precision = Precision::kFp32;  // resolved: never kAuto
  int threads = 0;
  int width = 0, height = 0;        // HR
  int lr_width = 0, lr_height = 0;  // the input frame
  double unet_ms = 0;               // v1: classifier on the LR-up image; v2: LR encoder + decoder
  std::map<int, double> latent_ms;  // the path at NFE n (v1: LR -> up -> E -> bridge -> D; v2: no up)
  std::map<int, double> pixel_ms;   // the same bridge in pixel space at HR, then the classifier
  std::map<int, double> frame_ms;   // Segmenter: packed bytes in, overlay pixels out
  double peak_rss_mb = 0;           // of this process so far
};

// Throws Error naming the model, device or size at fault.
BenchReport bench_model(const BenchOptions& options);

// The input frame size for an output (HR) size: width / scale x height /
// scale. Throws Error naming the size when it is not a multiple of `scale`.
void bench_input_size(int scale, int width, int height, int& lr_width, int& lr_height);

// Peak resident set size of this process in MiB (getrusage).
double peak_rss_mb();

}  // namespace i2sbseg
