// SPDX-License-Identifier: MIT
// Four pipelines in four threads share one loaded model (the element's model
// cache) for 500 frames each; every frame must equal what the same pipeline
// gives when the four run one after another. Under ThreadSanitizer
// (scripts/sanitize.sh thread) this test is the data-race check.
#include "element_fixture.h"

#include "pipeline_hashes.h"

#include <thread>

namespace {

constexpr int kFrames = 500;

using element_test::Collected;
using element_test::run_pipeline;

}  // namespace

TEST_F(Element, FourPipelinesSharingAModelInThreadsMatchSerialRuns) {
  for (const char* f : {"videotestsrc", "fakesink"})
    if (!element_test::have_factory(f)) GTEST_SKIP() << f << " is not available (GST_PLUGIN_SYSTEM_PATH_1_0)";
  // Different inputs, sizes, formats and per-element settings, so that one
  // pipeline's state leaking into another's frames would show.
  const std::string model = "i2sbseg model=\"" + model_path() + "\" device=cpu ";
  const std::string src = "videotestsrc num-buffers=" + std::to_string(kFrames) + " pattern=";
  const std::string sink = " ! fakesink name=sink signal-handoffs=true sync=false";
  const std::vector<std::string> launches = {
      src + "ball ! video/x-raw,format=RGB,width=12,height=8 ! " + model + "mode=mask steps=1" + sink,
      src + "smpte ! video/x-raw,format=BGRx,width=10,height=6 ! " + model + "alpha=0.7 seed=5" + sink,
      src + "pinwheel ! video/x-raw,format=RGBA,width=8,height=8 ! " + model + "mode=mask steps=4 ot-ode=true" + sink,
      src + "ball motion=sweep ! video/x-raw,format=BGR,width=14,height=4 ! " + model + "interval=3 upscale=bilinear" +
          sink,
  };
  // Hold the model so that the serial runs share it as well.
  auto shared = Segmenter::open(model_path(), {"cpu"});

  std::vector<Collected> serial;
  for (const std::string& l : launches) serial.push_back(run_pipeline(l));

  std::vector<Collected> parallel(launches.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < launches.size(); ++i)
    threads.emplace_back([&, i] { parallel[i] = run_pipeline(launches[i]); });
  for (std::thread& t : threads) t.join();

  for (size_t i = 0; i < launches.size(); ++i) {
    SCOPED_TRACE(launches[i]);
    ASSERT_EQ(serial[i].error, "");
    ASSERT_EQ(parallel[i].error, "");
    ASSERT_EQ(serial[i].hashes.size(), static_cast<size_t>(kFrames));
    EXPECT_EQ(parallel[i].hashes, serial[i].hashes);
  }
  // Distinct pipelines really produce distinct frames.
  EXPECT_NE(serial[0].hashes, serial[2].hashes);
}
