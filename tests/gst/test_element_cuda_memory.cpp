// SPDX-License-Identifier: MIT
// memory:CUDAMemory caps: offered by the templates where the build has
// GStreamer's CUDA library, withheld for a model on the CPU, and the CUDA
// context shared only for a CUDA device. With a GPU (and GStreamer's
// cudaupload / cudadownload): the CUDA-memory pipeline gives the frames the
// system-memory one gives, without copying the model's input from the host.
#include "element_fixture.h"

#include "pipeline_hashes.h"

#include <dlfcn.h>

#include <torch/cuda.h>

namespace {

using element_test::Element;

constexpr const char* kCudaFeature = "memory:CUDAMemory";

// Structures of `caps` with and without the CUDA memory feature.
void count_features(const GstCaps* caps, int& cuda, int& system) {
  cuda = system = 0;
  for (guint i = 0; i < gst_caps_get_size(caps); ++i) {
    const GstCapsFeatures* f = gst_caps_get_features(caps, i);
    if (f && gst_caps_features_contains(f, kCudaFeature))
      ++cuda;
    else
      ++system;
  }
}

bool built_with_cuda_memory() {
#ifdef I2SBSEG_GST_CUDA
  return true;
#else
  return false;
#endif
}

bool have_gpu() { return torch::cuda::is_available(); }

std::string cuda_caps(int w, int h) {
  return "video/x-raw(memory:CUDAMemory),format=RGB,width=" + std::to_string(w) + ",height=" + std::to_string(h) +
         ",framerate=30/1";
}

TEST_F(Element, PadTemplatesOfferCudaMemoryExactlyWhenBuiltWithIt) {
  GstElement* e = make_element({});
  for (const char* pad : {"sink", "src"}) {
    GstPadTemplate* templ = gst_element_class_get_pad_template(GST_ELEMENT_GET_CLASS(e), pad);
    ASSERT_TRUE(templ != nullptr);
    GstCaps* caps = gst_pad_template_get_caps(templ);
    int cuda = 0, system = 0;
    count_features(caps, cuda, system);
    gst_caps_unref(caps);
    EXPECT_GT(system, 0) << pad;
    EXPECT_EQ(cuda > 0, built_with_cuda_memory()) << pad;
  }
}

TEST_F(Element, ModelOnTheCpuIsNotOfferedCudaMemory) {
  if (!built_with_cuda_memory()) GTEST_SKIP() << "built without gstreamer-cuda-1.0";
  GstHarness* h = make_harness({{"device", "cpu"}}, element_test::caps_string("RGB", 8, 6));
  GstPad* sink = gst_element_get_static_pad(h->element, "sink");
  GstCaps* caps = gst_pad_query_caps(sink, nullptr);
  int cuda = 0, system = 0;
  count_features(caps, cuda, system);
  EXPECT_EQ(cuda, 0) << "sink pad caps of a model on the CPU: " << gst_caps_to_string(caps);
  EXPECT_GT(system, 0);
  gst_caps_unref(caps);
  GstCaps* forced = gst_caps_from_string(cuda_caps(8, 6).c_str());
  EXPECT_FALSE(gst_pad_query_accept_caps(sink, forced));
  gst_caps_unref(forced);
  gst_object_unref(sink);
  // A frame in system memory still runs.
  const auto px = element_test::random_pixels(8, 6, 3, 1);
  const auto out = run_frame(h, element_test::make_buffer(GST_VIDEO_FORMAT_RGB, 8, 6, px));
  EXPECT_EQ(out.width(), 8 * element_test::kScale);
}

TEST_F(Element, UpstreamOfferingOnlyCudaMemoryToACpuModelIsNotNegotiated) {
  if (!built_with_cuda_memory()) GTEST_SKIP() << "built without gstreamer-cuda-1.0";
  GstHarness* h = make_harness({{"device", "cpu"}}, cuda_caps(8, 6));
  const auto px = element_test::random_pixels(8, 6, 3, 2);
  EXPECT_EQ(gst_harness_push(h, element_test::make_buffer(GST_VIDEO_FORMAT_RGB, 8, 6, px)),
            GST_FLOW_NOT_NEGOTIATED);
}

// A gst.cuda.context query on the element's pads: answered or not.
bool context_answered(GstElement* e) {
  GstPad* src = gst_element_get_static_pad(e, "src");
  GstQuery* q = gst_query_new_context("gst.cuda.context");
  const bool answered = gst_pad_query(src, q);
  GstContext* context = nullptr;
  if (answered) {
    gst_query_parse_context(q, &context);
    EXPECT_TRUE(context != nullptr);
    if (context) {
      EXPECT_STREQ(gst_context_get_context_type(context), "gst.cuda.context");
    }
  }
  gst_query_unref(q);
  gst_object_unref(src);
  return answered;
}

TEST_F(Element, SharesACudaContextOnlyForACudaDevice) {
  EXPECT_FALSE(context_answered(make_element({{"device", "cpu"}})));
  GstElement* cuda = make_element({{"device", "cuda"}});
  EXPECT_EQ(context_answered(cuda), built_with_cuda_memory() && have_gpu());
}

// --- With a GPU and GStreamer's CUDA elements --------------------------------

using element_test::Collected;
using element_test::run_pipeline;

using element_test::have_factory;

TEST_F(Element, CudaMemoryPipelineGivesTheSystemMemoryFramesWithoutHostCopiesOfTheInput) {
  if (!built_with_cuda_memory() || !have_gpu()) GTEST_SKIP() << "needs gstreamer-cuda-1.0 and a CUDA GPU";
  if (!have_factory("cudaupload") || !have_factory("cudadownload"))
    GTEST_SKIP() << "GStreamer's cudaupload/cudadownload (gstreamer1.0-plugins-bad's nvcodec) are not installed";
  // Holding the model keeps the element's instance the same one (shared by
  // file, device and precision), whose host-copy count we read.
  SegmenterOptions options;
  options.device = "cuda:0";
  options.cudnn_benchmark = true;
  auto model = Segmenter::open(model_path(), options);
  const std::string src = "videotestsrc num-buffers=6 pattern=ball ! video/x-raw,format=RGBA,width=64,height=48 ! ";
  const std::string seg = "i2sbseg device=cuda:0 model=\"" + model_path() + "\"";
  const std::string tail = " ! video/x-raw,format=RGBA ! fakesink name=sink signal-handoffs=true";

  const std::uint64_t before = model->host_input_copies();
  const Collected sysmem = run_pipeline(src + seg + tail);
  ASSERT_EQ(sysmem.error, "");
  EXPECT_EQ(model->host_input_copies() - before, 6u) << "system memory: one upload per frame";

  const std::uint64_t mid = model->host_input_copies();
  const Collected cuda = run_pipeline(src + "cudaupload ! video/x-raw(memory:CUDAMemory) ! " + seg +
                              " ! video/x-raw(memory:CUDAMemory) ! cudadownload" + tail);
  ASSERT_EQ(cuda.error, "");
  EXPECT_EQ(model->host_input_copies() - mid, 0u) << "CUDA memory: the model reads the frames in place";
  ASSERT_EQ(cuda.hashes.size(), 6u);
  EXPECT_EQ(cuda.hashes, sysmem.hashes);
}

// A CUDA context of someone else's (as GStreamer's CUDA elements create and
// push on the threads they share with us) current on the thread that starts
// the element: the model must still load and run in the primary context.
// Driver calls through dlopen, so the test needs no CUDA headers.
TEST_F(Element, ModelLoadsAndRunsWithAnotherCudaContextCurrentOnTheThread) {
  if (!built_with_cuda_memory() || !have_gpu()) GTEST_SKIP() << "needs gstreamer-cuda-1.0 and a CUDA GPU";
  void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(lib, nullptr);
  using Ctx = void*;
  auto init = reinterpret_cast<int (*)(unsigned)>(dlsym(lib, "cuInit"));
  auto create = reinterpret_cast<int (*)(Ctx*, unsigned, int)>(dlsym(lib, "cuCtxCreate_v2"));
  auto pop = reinterpret_cast<int (*)(Ctx*)>(dlsym(lib, "cuCtxPopCurrent_v2"));
  auto destroy = reinterpret_cast<int (*)(Ctx)>(dlsym(lib, "cuCtxDestroy_v2"));
  ASSERT_TRUE(init && create && pop && destroy);
  ASSERT_EQ(init(0), 0);
  const std::string launch = "videotestsrc num-buffers=4 pattern=ball ! video/x-raw,format=RGBA,width=64,height=48 ! "
                             "i2sbseg device=cuda:0 model=\"" + model_path() +
                             "\" ! fakesink name=sink signal-handoffs=true";
  const Collected plain = run_pipeline(launch);
  ASSERT_EQ(plain.error, "");
  Ctx foreign = nullptr;
  ASSERT_EQ(create(&foreign, 0, 0), 0);  // made current on this thread
  const Collected under = run_pipeline(launch);
  Ctx popped = nullptr;
  EXPECT_EQ(pop(&popped), 0);
  EXPECT_EQ(popped, foreign) << "the element left the thread's context stack changed";
  destroy(foreign);
  ASSERT_EQ(under.error, "");
  EXPECT_EQ(under.hashes, plain.hashes);
}

}  // namespace
