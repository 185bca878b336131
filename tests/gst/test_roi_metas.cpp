// SPDX-License-Identifier: MIT
// The element's ROI metas (gst-plugin/frame_results.h) on a buffer, from a
// hand-made class map: one meta per connected region, its box, type and
// params. No model: the element tests check the same against real output.
#include <gtest/gtest.h>

#include <gst/gst.h>
#include <gst/video/video.h>

#include <string>
#include <vector>

#include "../../gst-plugin/frame_results.h"

namespace {

struct Roi {
  std::string type;
  guint x, y, w, h;
  guint index;
  std::string name;
  double share;
  guint64 pixels;
};

std::vector<Roi> read_rois(GstBuffer* buf) {
  std::vector<Roi> rois;
  gpointer state = nullptr;
  while (GstMeta* m = gst_buffer_iterate_meta_filtered(buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)) {
    auto* meta = reinterpret_cast<GstVideoRegionOfInterestMeta*>(m);
    Roi r{g_quark_to_string(meta->roi_type), meta->x, meta->y, meta->w, meta->h, 0, "", 0.0, 0};
    const GstStructure* p = gst_video_region_of_interest_meta_get_param(meta, "i2sbseg/class");
    EXPECT_TRUE(p != nullptr);
    if (!p) continue;
    EXPECT_TRUE(gst_structure_get_uint(p, "class-index", &r.index));
    EXPECT_TRUE(gst_structure_get_double(p, "pixel-share", &r.share));
    EXPECT_TRUE(gst_structure_get_uint64(p, "pixels", &r.pixels));
    const char* name = gst_structure_get_string(p, "class-name");
    r.name = name ? name : "";
    rois.push_back(r);
  }
  return rois;
}

}  // namespace

TEST(RoiMetas, OneMetaPerConnectedRegionOfAtLeastTheMinimumArea) {
  gst_init(nullptr, nullptr);
  const std::vector<i2sbseg::ClassInfo> classes = {
      {"background", {0, 0, 0}}, {"animal", {255, 0, 0}}, {"plant", {0, 255, 0}}};
  // Two animals (6 and 4 pixels, the second joined by a corner), a plant of
  // 2 pixels and a class the model does not have.
  const std::vector<std::string> rows = {
      "11......",  //
      "11....7.",  //
      "11......",  //
      "....1...",  //
      ".....1..",  //
      ".....11.",  //
      "22......",  //
      "........",  //
  };
  std::vector<std::uint8_t> map;
  for (const auto& r : rows)
    for (char c : r) map.push_back(c == '.' ? 0 : static_cast<std::uint8_t>(c - '0'));

  GstBuffer* buf = gst_buffer_new();
  i2sbseg_gst::attach_roi_metas(buf, classes, map, 8, 8, 3, 0);
  const std::vector<Roi> rois = read_rois(buf);
  ASSERT_EQ(rois.size(), 2u) << "the plant is under 3 pixels; class 7 has no name";
  const Roi& a = rois[0];
  EXPECT_EQ(a.type, "animal");
  EXPECT_EQ(a.name, "animal");
  EXPECT_EQ(a.index, 1u);
  EXPECT_EQ(std::vector<guint>({a.x, a.y, a.w, a.h}), std::vector<guint>({0, 0, 2, 3}));
  EXPECT_EQ(a.pixels, 6u);
  EXPECT_DOUBLE_EQ(a.share, 6.0 / 64);
  const Roi& b = rois[1];
  EXPECT_EQ(b.type, "animal");
  EXPECT_EQ(std::vector<guint>({b.x, b.y, b.w, b.h}), std::vector<guint>({4, 3, 3, 3}));
  EXPECT_EQ(b.pixels, 4u);
  EXPECT_DOUBLE_EQ(b.share, 4.0 / 64);
  gst_buffer_unref(buf);

  buf = gst_buffer_new();
  i2sbseg_gst::attach_roi_metas(buf, classes, map, 8, 8, 0, 0);
  const std::vector<Roi> all = read_rois(buf);
  ASSERT_EQ(all.size(), 3u) << "min_area 0: every region of a named class";
  EXPECT_EQ(all[2].type, "plant");
  EXPECT_EQ(std::vector<guint>({all[2].x, all[2].y, all[2].w, all[2].h, all[2].index}),
            std::vector<guint>({0, 6, 2, 1, 2}));
  gst_buffer_unref(buf);

  // At most 2 metas: the two animals (6 and 4 pixels), not the plant (2);
  // the unnamed class 7 neither counts nor gets one.
  buf = gst_buffer_new();
  EXPECT_EQ(i2sbseg_gst::attach_roi_metas(buf, classes, map, 8, 8, 0, 2), 1u);
  const std::vector<Roi> two = read_rois(buf);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].pixels, 6u);
  EXPECT_EQ(two[1].pixels, 4u);
  gst_buffer_unref(buf);
}
