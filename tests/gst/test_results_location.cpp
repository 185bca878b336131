// SPDX-License-Identifier: MIT
// The element's results-location: one JSON line per output frame, flushed
// as the frame leaves, its values those of the frame's own class map (mask
// mode: the output pixels) and regions found here by flood fill; a file
// that cannot be opened fails the start naming it.
#include "element_fixture.h"

#include <nlohmann/json.hpp>

#include "../common/flood_fill.h"

namespace element_test {
namespace {

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

// The line's values against the output frame's class map.
void expect_line_matches(const std::string& line, const Output& out, int steps, GstClockTime pts) {
  const auto j = nlohmann::json::parse(line);
  const int w = out.width(), h = out.height();
  EXPECT_EQ(j["pts"].get<std::uint64_t>(), pts);
  EXPECT_EQ(j["width"], w);
  EXPECT_EQ(j["height"], h);
  EXPECT_EQ(j["steps"], steps);
  EXPECT_TRUE(j["model_ran"].get<bool>());
  EXPECT_GE(j["inference_ms"].get<double>(), 0.0);
  const ModelConfig c = small_config();
  std::vector<double> counts(c.num_classes(), 0);
  for (std::uint8_t v : out.pixels) ++counts.at(v);
  ASSERT_EQ(j["class_shares"].size(), counts.size());
  for (int k = 0; k < c.num_classes(); ++k)
    EXPECT_DOUBLE_EQ(j["class_shares"][c.classes[k].name].get<double>(), counts[k] / (w * h)) << k;
  const auto want = i2sbseg::testing::flood_fill_regions(out.pixels.data(), w, h, 1);
  ASSERT_EQ(j["regions"].size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    const auto& r = j["regions"][i];
    const auto& [cls, x, y, rw, rh, px] = want[i];
    EXPECT_EQ(r["class_index"], cls);
    EXPECT_EQ(r["class"], c.classes[cls].name);
    EXPECT_EQ(std::make_tuple(r["x"].get<int>(), r["y"].get<int>(), r["w"].get<int>(), r["h"].get<int>()),
              std::make_tuple(x, y, rw, rh));
    EXPECT_EQ(r["pixels"].get<std::uint64_t>(), px);
  }
}

}  // namespace

TEST_F(Element, ResultsLocationWritesAJsonLinePerFrame) {
  const std::string path = temp_file("results.jsonl");
  std::remove(path.c_str());
  const int w = 8, h = 6;
  GstHarness* hn = make_harness({{"mode", "mask"}, {"results-location", path}, {"roi-min-area", "1"}, {"roi-max", "0"}},
                                caps_string("RGB", w, h));
  GstBuffer* in = make_buffer(GST_VIDEO_FORMAT_RGB, w, h, random_pixels(w, h, 3, 91));
  GST_BUFFER_PTS(in) = 40 * GST_MSECOND;
  const Output first = run_frame(hn, in);
  std::vector<std::string> lines = read_lines(path);
  ASSERT_EQ(lines.size(), 1u) << "flushed with the frame";
  expect_line_matches(lines[0], first, 2, 40 * GST_MSECOND);  // small_config: default 2 steps
  EXPECT_EQ(nlohmann::json::parse(lines[0])["model"], model_path());
  g_object_set(hn->element, "steps", 5u, nullptr);
  in = make_buffer(GST_VIDEO_FORMAT_RGB, w, h, random_pixels(w, h, 3, 92));
  GST_BUFFER_PTS(in) = 80 * GST_MSECOND;
  const Output second = run_frame(hn, in);
  lines = read_lines(path);
  ASSERT_EQ(lines.size(), 2u);
  expect_line_matches(lines[1], second, 5, 80 * GST_MSECOND);
}

TEST_F(Element, AResultsLocationThatCannotBeOpenedFailsTheStartNamingIt) {
  const std::string bad = temp_file("no-such-dir") + "/results.jsonl";
  const BusError e = start_failure(make_element({{"results-location", bad}}));
  EXPECT_TRUE(e.is(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_WRITE)) << e.code << ": " << e.text;
  EXPECT_NE(e.text.find(bad), std::string::npos) << e.text;
  EXPECT_NE(e.text.find("results-location"), std::string::npos) << e.text;
}

}  // namespace element_test
