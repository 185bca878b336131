// SPDX-License-Identifier: MIT
// batch-size / batch-timeout: four streams sharing a model, each in its own
// thread, batched (batch-size 4) must give exactly the frames they give
// unbatched; a stream that ends or stops does not hold the others past the
// timeout; a stop wakes a frame waiting for its batch.
#include "element_fixture.h"

#include "../common/fnv1a.h"

#include <atomic>
#include <chrono>
#include <thread>

namespace {

constexpr int kFrames = 100;

// Output hashes in order, and the slowest inference-time (ns) the element
// reported: the wait for a batch plus the batch's run.
struct Collected {
  std::vector<std::uint64_t> hashes;
  guint64 slowest_ns = 0;
  std::string error;
  std::atomic<int> count{0};
};

void on_handoff(GstElement*, GstBuffer* buf, GstPad*, gpointer data) {
  GstMapInfo map;
  if (!gst_buffer_map(buf, &map, GST_MAP_READ)) return;
  auto* c = static_cast<Collected*>(data);
  c->hashes.push_back(i2sbseg::testing::fnv1a(map.data, map.size));
  gst_buffer_unmap(buf, &map);
  ++c->count;
}

// Runs `launch` until EOS, an error, or `stop` turns true (then set to NULL).
void run_pipeline(const std::string& launch, Collected& out, const std::atomic<bool>* stop = nullptr) {
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(launch.c_str(), &error);
  if (!pipeline) {
    out.error = error ? error->message : "parse failed";
    if (error) g_error_free(error);
    return;
  }
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  g_signal_connect(sink, "handoff", G_CALLBACK(on_handoff), &out);
  gst_object_unref(sink);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
  for (bool done = false; !done;) {
    if (stop && stop->load()) break;
    if (std::chrono::steady_clock::now() > deadline) {
      out.error = "no EOS within 300 s";
      break;
    }
    // Told apart by their structures (an EOS has none, an error's is
    // "GstMessageError"), which GStreamer's own code reads: this thread never
    // reads a message's fields itself (GST_MESSAGE_TYPE), as the bus hands
    // them over with GLib's futexes, which ThreadSanitizer cannot see
    // (scripts/sanitize.sh).
    GstMessage* msg = gst_bus_timed_pop_filtered(
        bus, 20 * GST_MSECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT));
    if (!msg) continue;
    const GstStructure* s = gst_message_get_structure(msg);
    guint64 ns = 0;
    if (!s) {
      done = true;  // EOS
    } else if (gst_structure_has_name(s, "GstMessageError")) {
      GError* err = nullptr;
      gst_message_parse_error(msg, &err, nullptr);
      out.error = err ? err->message : "error";
      if (err) g_error_free(err);
      done = true;
    } else if (gst_structure_has_name(s, "i2sbseg") && gst_structure_get_uint64(s, "inference-time", &ns)) {
      out.slowest_ns = std::max(out.slowest_ns, ns);
    }
    gst_message_unref(msg);
  }
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
}

// Four streams of one size (so that they batch), with their own inputs,
// seeds and modes. `extra`: properties for every element.
std::vector<std::string> four_streams(const std::string& model, const std::string& extra, int frames = kFrames) {
  const std::string el = "i2sbseg model=\"" + model + "\" device=cpu post-messages=true " + extra + " ";
  const std::string src = "videotestsrc num-buffers=" + std::to_string(frames) + " pattern=";
  const std::string caps = " ! video/x-raw,format=RGB,width=12,height=8 ! ";
  const std::string sink = " ! fakesink name=sink signal-handoffs=true sync=false";
  return {src + "ball" + caps + el + "mode=mask seed=1" + sink, src + "smpte" + caps + el + "seed=2 alpha=0.7" + sink,
          src + "pinwheel" + caps + el + "mode=mask seed=3" + sink,
          src + "ball motion=sweep" + caps + el + "seed=4 interval=3" + sink};
}

std::vector<std::unique_ptr<Collected>> run_parallel(const std::vector<std::string>& launches) {
  std::vector<std::unique_ptr<Collected>> out;
  for (size_t i = 0; i < launches.size(); ++i) out.push_back(std::make_unique<Collected>());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < launches.size(); ++i) threads.emplace_back([&, i] { run_pipeline(launches[i], *out[i]); });
  for (std::thread& t : threads) t.join();
  return out;
}

bool have_test_elements() { return element_test::have_factory("videotestsrc") && element_test::have_factory("fakesink"); }

}  // namespace

TEST_F(Element, BatchPropertiesAreDocumentedWithRangesAndDefaults) {
  GstElement* e = gst_element_factory_make("i2sbseg", nullptr);
  ASSERT_NE(e, nullptr);
  auto* size = G_PARAM_SPEC_UINT(g_object_class_find_property(G_OBJECT_GET_CLASS(e), "batch-size"));
  auto* timeout = G_PARAM_SPEC_UINT(g_object_class_find_property(G_OBJECT_GET_CLASS(e), "batch-timeout"));
  ASSERT_NE(size, nullptr);
  ASSERT_NE(timeout, nullptr);
  EXPECT_EQ(size->default_value, 1u);
  EXPECT_EQ(size->minimum, 1u);
  EXPECT_EQ(timeout->default_value, 10u);
  EXPECT_NE(std::string(g_param_spec_get_blurb(G_PARAM_SPEC(size))).find("batch-timeout"), std::string::npos);
  EXPECT_TRUE(G_PARAM_SPEC(size)->flags & GST_PARAM_MUTABLE_READY);       // the batcher is joined at start
  EXPECT_TRUE(G_PARAM_SPEC(timeout)->flags & GST_PARAM_MUTABLE_PLAYING);  // read per frame
  g_object_set(e, "batch-size", 8u, "batch-timeout", 25u, nullptr);
  guint s = 0, t = 0;
  g_object_get(e, "batch-size", &s, "batch-timeout", &t, nullptr);
  EXPECT_EQ(s, 8u);
  EXPECT_EQ(t, 25u);
  gst_object_unref(e);
}

TEST_F(Element, FourStreamsBatchedGiveTheFramesTheyGiveUnbatched) {
  if (!have_test_elements()) GTEST_SKIP() << "videotestsrc or fakesink is not available";
  auto shared = Segmenter::open(model_path(), {"cpu"});  // all runs share one model
  const auto single = run_parallel(four_streams(model_path(), "batch-size=1"));
  const auto batched = run_parallel(four_streams(model_path(), "batch-size=4 batch-timeout=200"));
  for (size_t i = 0; i < single.size(); ++i) {
    SCOPED_TRACE("stream " + std::to_string(i));
    ASSERT_EQ(single[i]->error, "");
    ASSERT_EQ(batched[i]->error, "");
    ASSERT_EQ(single[i]->hashes.size(), static_cast<size_t>(kFrames));
    EXPECT_EQ(batched[i]->hashes, single[i]->hashes);
  }
  EXPECT_NE(single[0]->hashes, single[2]->hashes);  // the seeds and inputs differ
}

TEST_F(Element, AStreamThatEndsOrStopsDoesNotHoldTheOthers) {
  if (!have_test_elements()) GTEST_SKIP() << "videotestsrc or fakesink is not available";
  constexpr guint kTimeoutMs = 50;
  auto launches = four_streams(model_path(), "batch-size=4 batch-timeout=" + std::to_string(kTimeoutMs));
  launches[0] = four_streams(model_path(), "batch-size=4 batch-timeout=50", 20)[0];  // ends early (EOS)
  std::vector<std::unique_ptr<Collected>> out;
  for (int i = 0; i < 4; ++i) out.push_back(std::make_unique<Collected>());
  std::atomic<bool> stop_last{false};
  std::vector<std::thread> threads;
  for (size_t i = 0; i < 4; ++i)
    threads.emplace_back([&, i] { run_pipeline(launches[i], *out[i], i == 3 ? &stop_last : nullptr); });
  // The last stream is set to NULL after 30 frames, mid-stream.
  while (out[3]->count < 30 && out[3]->error.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  stop_last = true;
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(out[0]->error, "");
  EXPECT_EQ(out[0]->hashes.size(), 20u);
  for (int i : {1, 2}) {
    EXPECT_EQ(out[i]->error, "");
    EXPECT_EQ(out[i]->hashes.size(), static_cast<size_t>(kFrames));
  }
  EXPECT_GE(out[3]->count.load(), 30);
  // A hang guard, not a speed claim.
  for (const auto& c : out) EXPECT_LT(c->slowest_ns, (kTimeoutMs + 2000) * GST_MSECOND);
}

TEST_F(Element, StoppingWakesAFrameWaitingForItsBatch) {
  if (!have_test_elements()) GTEST_SKIP() << "videotestsrc or fakesink is not available";
  // Alone with batch-size 2 and a minute's timeout: its first frame waits.
  const std::string launch = "videotestsrc ! video/x-raw,format=RGB,width=12,height=8 ! i2sbseg model=\"" +
                             model_path() + "\" device=cpu batch-size=2 batch-timeout=60000 ! fakesink";
  GstElement* pipeline = gst_parse_launch(launch.c_str(), nullptr);
  ASSERT_NE(pipeline, nullptr);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(gst_element_set_state(pipeline, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  gst_object_unref(pipeline);
}
