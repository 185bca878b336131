// SPDX-License-Identifier: MIT
// results-location's JSON lines (gst-plugin/results_file), compiled in: a
// frame written out by hand, byte for byte, and the string escaping.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "../../gst-plugin/results_file.h"
#include "../common/temp_dir.h"

using i2sbseg_gst::FrameResult;
using i2sbseg_gst::ResultsFile;

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

// A 4 x 2 map: background 5 px, "person" 2, "lawn \"green\"" 1; one region.
TEST(ResultsFile, AFrameIsOneJsonLineAsWrittenByHand) {
  i2sbseg::testing::TempDir dir;
  const std::string path = dir.file("r.jsonl");
  FrameResult r;
  r.has_pts = true;
  r.pts = 40000000;
  r.width = 4;
  r.height = 2;
  r.steps = 2;
  r.model_ran = true;
  r.inference_ms = 12.3456;
  r.class_pixels = {5, 2, 1};
  r.regions = {{1, 1, 0, 2, 1, 2}};
  ResultsFile f;
  ASSERT_EQ(f.open(path, "models/a\\b.i2sb", {"background", "person", "lawn \"green\""}), "");
  std::string error;
  ASSERT_TRUE(f.write(r, error)) << error;
  const std::string line =
      "{\"pts\":40000000,\"width\":4,\"height\":2,\"model\":\"models/a\\\\b.i2sb\",\"steps\":2,\"model_ran\":true,"
      "\"inference_ms\":12.346,\"class_shares\":{\"background\":0.625,\"person\":0.25,\"lawn \\\"green\\\"\":0.125},"
      "\"regions\":[{\"class\":\"person\",\"class_index\":1,\"x\":1,\"y\":0,\"w\":2,\"h\":1,\"pixels\":2}]}\n";
  EXPECT_EQ(read_all(path), line) << "flushed as written, before the file closes";
  // A frame without a PTS and whose map was reused.
  r.has_pts = false;
  r.model_ran = false;
  r.inference_ms = 0;
  r.regions.clear();
  ASSERT_TRUE(f.write(r, error)) << error;
  f.close();
  const std::string second =
      "{\"pts\":null,\"width\":4,\"height\":2,\"model\":\"models/a\\\\b.i2sb\",\"steps\":2,\"model_ran\":false,"
      "\"inference_ms\":0.000,\"class_shares\":{\"background\":0.625,\"person\":0.25,\"lawn \\\"green\\\"\":0.125},"
      "\"regions\":[]}\n";
  EXPECT_EQ(read_all(path), line + second);
  // Opening again appends.
  ASSERT_EQ(f.open(path, "m", {}), "");
  f.close();
  EXPECT_EQ(read_all(path), line + second);
}

TEST(ResultsFile, StringsAreEscapedAndUnopenableFilesSayWhy) {
  EXPECT_EQ(i2sbseg_gst::json_string("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\u000ad\\u0001\"");
  EXPECT_EQ(i2sbseg_gst::json_string("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
  ResultsFile f;
  const std::string why = f.open("/nonexistent-dir/r.jsonl", "m", {});
  EXPECT_NE(why, "");
  EXPECT_FALSE(f.is_open());
}
