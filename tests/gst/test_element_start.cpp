// SPDX-License-Identifier: MIT
// The element's start (READY -> PAUSED): which model file it loads (the
// `model` property, $I2SBSEG_DEFAULT_MODEL, the installed default) and the
// error each failure posts, asserted by GError domain and code (what
// applications switch on), with the text naming the file or property and the
// library's detail in the debug string.
#include "element_fixture.h"

#include <cstdlib>
#include <optional>

#ifndef I2SBSEG_INSTALLED_MODEL
#error "tests/meson.build defines I2SBSEG_INSTALLED_MODEL as the plugin's build does"
#endif

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Sets (or with nullopt unsets) an environment variable for one test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = g_getenv(name)) old_ = old;
    if (value)
      g_setenv(name, value->c_str(), TRUE);
    else
      g_unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      g_setenv(name_, old_->c_str(), TRUE);
    else
      g_unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace

TEST_F(Element, MissingModelFailsToStartWithNotFound) {
  const std::string path = temp_file("no-such-model.i2sb");
  const BusError e = start_failure(make_element({{"model", path}}));
  EXPECT_TRUE(e.is(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND)) << e.code << ": " << e.text;
  EXPECT_TRUE(contains(e.text, "'" + path + "'")) << e.text;
  EXPECT_TRUE(contains(e.text, "'model' property")) << e.text;
}

TEST_F(Element, CorruptModelFailsToStartWithOpenRead) {
  const std::string path = temp_file("corrupt.i2sb");
  {
    std::ifstream in(model_path(), std::ios::binary);
    Bytes b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    b[b.size() / 2] ^= 0x5a;  // the checksum no longer matches
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  }
  const BusError e = start_failure(make_element({{"model", path}}));
  EXPECT_TRUE(e.is(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ)) << e.code << ": " << e.text;
  EXPECT_TRUE(contains(e.text, "'" + path + "'")) << e.text;
  EXPECT_TRUE(contains(e.debug, "checksum")) << "the library's detail: " << e.debug;
}

TEST_F(Element, AMalformedDeviceFailsToStartNamingTheProperty) {
  const BusError e = start_failure(make_element({{"device", "tpu"}}));
  EXPECT_TRUE(e.is(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS)) << e.code << ": " << e.text;
  EXPECT_TRUE(contains(e.text, "'tpu'")) << e.text;
  EXPECT_TRUE(contains(e.text, "property 'device'")) << e.text;
  EXPECT_TRUE(contains(e.debug, "tpu")) << e.debug;
}

TEST_F(Element, CudaWithoutAGpuFailsToStartNamingTheProperty) {
  if (Segmenter::open(model_path(), {"auto"})->device().is_cuda()) GTEST_SKIP() << "a GPU is present";
  const BusError e = start_failure(make_element({{"device", "cuda"}}));
  EXPECT_TRUE(e.is(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS)) << e.code << ": " << e.text;
  EXPECT_TRUE(contains(e.text, "device 'cuda' (property 'device')")) << e.text;
  EXPECT_TRUE(contains(e.text, model_path())) << e.text;
}

TEST_F(Element, PrecisionTheDeviceCannotRunFailsToStartNamingTheProperty) {
  try {
    Segmenter::open(model_path(), {"cpu", Precision::kFp16});
    GTEST_SKIP() << "this LibTorch runs fp16 on the CPU";
  } catch (const std::exception&) {
  }
  GstElement* el = make_element({{"device", "cpu"}, {"precision", "fp16"}});
  gint precision = -1;
  g_object_get(el, "precision", &precision, nullptr);
  EXPECT_EQ(precision, 2) << "fp16 is the third enum value";
  const BusError e = start_failure(el);
  EXPECT_TRUE(e.is(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS)) << e.code << ": " << e.text;
  EXPECT_TRUE(contains(e.text, "precision fp16 (property 'precision') on device 'cpu'")) << e.text;
  EXPECT_TRUE(contains(e.text, model_path())) << e.text;
}

TEST_F(Element, StepsBeyondTheScheduleFailToStartWithTheAllowedRange) {
  // small_config(): a 100-step schedule, default 2 steps.
  for (const char* steps : {"100", "500"}) {
    SCOPED_TRACE(steps);
    const BusError e = start_failure(make_element({{"steps", steps}}));
    EXPECT_TRUE(e.is(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS)) << e.code << ": " << e.text;
    EXPECT_TRUE(contains(e.text, std::string("'steps' is ") + steps)) << e.text;
    EXPECT_TRUE(contains(e.text, "0 (its default of 2) or 1 to 99")) << e.text;
  }
  // The last step below the schedule starts.
  GstElement* ok = make_element({{"steps", "99"}});
  EXPECT_NE(gst_element_set_state(ok, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  gst_element_set_state(ok, GST_STATE_NULL);
  // Back in NULL no model is loaded: any value is taken, and the next start
  // checks it.
  g_object_set(ok, "steps", 500u, nullptr);
  guint steps = 0;
  g_object_get(ok, "steps", &steps, nullptr);
  EXPECT_EQ(steps, 500u);
  const BusError again = start_failure(ok);
  EXPECT_TRUE(contains(again.text, "'steps' is 500")) << again.text;
}

TEST_F(Element, WithoutAModelPropertyTheEnvironmentsDefaultModelRuns) {
  ScopedEnv env("I2SBSEG_DEFAULT_MODEL", model_path());
  GstHarness* hn = gst_harness_new_with_element(make_element({{"mode", "mask"}}, false), "sink", "src");
  harnesses_.push_back(hn);
  gst_harness_set_src_caps_str(hn, caps_string("RGB", 6, 4).c_str());
  const Bytes px = random_pixels(6, 4, 3, 17);
  int mw = 0, mh = 0;
  EXPECT_EQ(run_frame(hn, make_buffer(GST_VIDEO_FORMAT_RGB, 6, 4, px)).pixels,
            library_map(px, 6, 4, rgb().layout, {}, mw, mh));
  gchar* model = nullptr;
  g_object_get(hn->element, "model", &model, nullptr);
  EXPECT_EQ(model, nullptr) << "the property stays unset";
  g_free(model);
}

TEST_F(Element, AMissingEnvironmentDefaultFailsWithNotFoundNamingIt) {
  const std::string path = temp_file("no-default.i2sb");
  ScopedEnv env("I2SBSEG_DEFAULT_MODEL", path);
  const BusError e = start_failure(make_element({}, false));
  EXPECT_TRUE(e.is(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND)) << e.code << ": " << e.text;
  EXPECT_TRUE(contains(e.text, "'" + path + "'")) << e.text;
  EXPECT_TRUE(contains(e.text, "$I2SBSEG_DEFAULT_MODEL")) << e.text;
}

TEST_F(Element, WithNeitherTheInstalledDefaultIsLoaded) {
  ScopedEnv env("I2SBSEG_DEFAULT_MODEL", std::nullopt);
  GstElement* el = make_element({}, false);
  std::error_code ec;
  if (std::filesystem::exists(I2SBSEG_INSTALLED_MODEL, ec)) {  // installed on this machine
    EXPECT_NE(gst_element_set_state(el, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
    return;
  }
  const BusError e = start_failure(el);
  EXPECT_TRUE(e.is(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND)) << e.code << ": " << e.text;
  EXPECT_TRUE(contains(e.text, std::string("'") + I2SBSEG_INSTALLED_MODEL + "'")) << e.text;
  EXPECT_TRUE(contains(e.text, "installed default")) << e.text;
}
