// SPDX-License-Identifier: MIT
// The plugin as GStreamer's registry and gst-inspect see it: it loads with a
// licence GStreamer accepts, its pad templates carry the element's formats,
// and the `model` property says which model it loads when unset.
#include <gtest/gtest.h>

#include <gst/gst.h>

#include <algorithm>
#include <iterator>
#include <set>
#include <string>

#ifndef I2SBSEG_INSTALLED_MODEL
#error "tests/meson.build defines I2SBSEG_INSTALLED_MODEL as the plugin's build does"
#endif

namespace {

class Plugin : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { gst_init(nullptr, nullptr); }
};

// The formats of a pad template's caps (one structure with a format list).
std::set<std::string> template_formats(GstElementFactory* factory, const char* name) {
  std::set<std::string> formats;
  for (const GList* l = gst_element_factory_get_static_pad_templates(factory); l; l = l->next) {
    auto* t = static_cast<GstStaticPadTemplate*>(l->data);
    if (g_strcmp0(t->name_template, name) != 0) continue;
    GstCaps* caps = gst_static_caps_get(&t->static_caps);
    // System memory first; builds with GStreamer's CUDA library add the same
    // structure in memory:CUDAMemory.
    const guint n = gst_caps_get_size(caps);
    EXPECT_TRUE(n == 1u || n == 2u) << n;
    EXPECT_TRUE(gst_caps_features_is_equal(gst_caps_get_features(caps, 0), GST_CAPS_FEATURES_MEMORY_SYSTEM_MEMORY));
    if (n == 2u) {
      EXPECT_TRUE(gst_caps_features_contains(gst_caps_get_features(caps, 1), "memory:CUDAMemory"));
      EXPECT_TRUE(gst_value_compare(gst_structure_get_value(gst_caps_get_structure(caps, 0), "format"),
                                    gst_structure_get_value(gst_caps_get_structure(caps, 1), "format")) ==
                  GST_VALUE_EQUAL);
    }
    const GValue* list = gst_structure_get_value(gst_caps_get_structure(caps, 0), "format");
    for (guint i = 0; list && GST_VALUE_HOLDS_LIST(list) && i < gst_value_list_get_size(list); ++i)
      formats.insert(g_value_get_string(gst_value_list_get_value(list, i)));
    gst_caps_unref(caps);
  }
  return formats;
}

}  // namespace

TEST_F(Plugin, LoadsWithALicenceGStreamerKnows) {
  GstPlugin* plugin = gst_registry_find_plugin(gst_registry_get(), "i2sbseg");
  ASSERT_TRUE(plugin != nullptr) << "is GST_PLUGIN_PATH set to the build's gst-plugin dir?";
  GstPlugin* loaded = gst_plugin_load(plugin);
  gst_object_unref(plugin);
  ASSERT_TRUE(loaded != nullptr);
  const std::string licence = gst_plugin_get_license(loaded);
  gst_object_unref(loaded);
  // gstplugin.c's known_licenses: GStreamer warns about, and does not
  // load, a plugin with any other string.
  const char* known[] = {"LGPL", "GPL", "QPL", "GPL/QPL", "MPL", "BSD", "MIT/X11", "0BSD", "Proprietary"};
  EXPECT_NE(std::find(std::begin(known), std::end(known), licence), std::end(known)) << licence;
  EXPECT_EQ(licence, "MIT/X11") << "LICENSE is the MIT licence";
}

TEST_F(Plugin, PadTemplatesListThePackedRgbFormatsAndGray8OnTheSourcePad) {
  GstElementFactory* factory = gst_element_factory_find("i2sbseg");
  ASSERT_TRUE(factory != nullptr);
  const std::set<std::string> sink = template_formats(factory, "sink"), src = template_formats(factory, "src");
  gst_object_unref(factory);
  const std::set<std::string> packed_rgb = {"RGB", "BGR", "RGBA", "BGRA", "RGBx", "BGRx"};
  EXPECT_EQ(sink, packed_rgb);
  std::set<std::string> with_gray8 = packed_rgb;
  with_gray8.insert("GRAY8");
  EXPECT_EQ(src, with_gray8);
}

TEST_F(Plugin, TheModelPropertyNamesTheInstalledDefault) {
  GstElement* e = gst_element_factory_make("i2sbseg", nullptr);
  ASSERT_TRUE(e != nullptr);
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(e), "model");
  ASSERT_TRUE(spec != nullptr);
  const std::string blurb = g_param_spec_get_blurb(spec);
  EXPECT_NE(blurb.find("$I2SBSEG_DEFAULT_MODEL"), std::string::npos) << blurb;
  EXPECT_NE(blurb.find(I2SBSEG_INSTALLED_MODEL), std::string::npos) << blurb;
  gst_object_unref(gst_object_ref_sink(e));
}
