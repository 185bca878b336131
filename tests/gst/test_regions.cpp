// SPDX-License-Identifier: MIT
// The element's connected-region labelling (gst-plugin/regions.h) on
// hand-drawn and random class maps, against a plain flood fill. No
// GStreamer, no model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "../../gst-plugin/regions.h"
#include "../common/flood_fill.h"

using i2sbseg::testing::flood_fill_regions;
using i2sbseg::testing::RegionTuple;
using i2sbseg_gst::label_regions;
using i2sbseg_gst::Region;

namespace {

using Map = std::vector<std::uint8_t>;

// A map drawn as text, one string per row: '.' is class 0, a digit its class.
Map draw(const std::vector<std::string>& rows) {
  Map m;
  for (const auto& r : rows)
    for (char c : r) m.push_back(c == '.' ? 0 : static_cast<std::uint8_t>(c - '0'));
  return m;
}

std::vector<RegionTuple> tuples(const std::vector<Region>& regions) {
  std::vector<RegionTuple> t;
  for (const Region& r : regions) t.emplace_back(r.class_index, r.x, r.y, r.w, r.h, r.pixels);
  return t;
}

std::vector<RegionTuple> labelled(const std::vector<std::string>& rows, std::uint64_t min_area = 0) {
  const Map m = draw(rows);
  return tuples(label_regions(m.data(), static_cast<int>(rows[0].size()), static_cast<int>(rows.size()), min_area));
}

}  // namespace

TEST(Regions, TwoSeparatedBlobsOfOneClassAreTwoRegions) {
  const std::vector<RegionTuple> expected = {{1, 1, 1, 3, 2, 6}, {1, 5, 3, 4, 3, 7}};
  EXPECT_EQ(labelled({
                "..........",
                ".111......",
                ".111......",
                ".....1111.",
                "......11..",
                "......1...",
            }),
            expected);
}

TEST(Regions, PixelsTouchingByACornerJoin) {
  // Both diagonals, and a "U" whose arms only meet in its last row (two sets
  // merged late: the region is still reported once, at its first pixel).
  EXPECT_EQ(labelled({"2...", ".2..", "..2.", "...."}), (std::vector<RegionTuple>{{2, 0, 0, 3, 3, 3}}));
  EXPECT_EQ(labelled({"...1", "..1.", ".1..", "1..."}), (std::vector<RegionTuple>{{1, 0, 0, 4, 4, 4}}));
  EXPECT_EQ(labelled({"1...1", "1...1", ".1.1.", "..1.."}), (std::vector<RegionTuple>{{1, 0, 0, 5, 4, 7}}));
}

TEST(Regions, DifferentClassesNeverJoin) {
  const std::vector<RegionTuple> expected = {{1, 0, 0, 2, 3, 4}, {2, 1, 0, 2, 3, 4}, {3, 0, 3, 1, 1, 1}};
  EXPECT_EQ(labelled({"12.", "122", "112", "3.."}), expected);
}

TEST(Regions, RegionsUnderTheMinimumAreaAreDropped) {
  const std::vector<std::string> rows = {"11...", "1..22", "...22", "..2.."};  // 3 and 5 pixels
  EXPECT_EQ(labelled(rows, 0).size(), 2u);
  EXPECT_EQ(labelled(rows, 1).size(), 2u);
  EXPECT_EQ(labelled(rows, 3).size(), 2u) << "a region of exactly min_area pixels stays";
  EXPECT_EQ(labelled(rows, 4), (std::vector<RegionTuple>{{2, 2, 1, 3, 3, 5}}));
  EXPECT_TRUE(labelled(rows, 6).empty());
}

TEST(Regions, TheBackgroundIsNeverReported) {
  EXPECT_TRUE(labelled({"....", "...."}).empty());
  EXPECT_EQ(labelled({"....", ".1..", "...."}), (std::vector<RegionTuple>{{1, 1, 1, 1, 1, 1}}));
  EXPECT_TRUE(label_regions(nullptr, 0, 0, 0).empty());
}

TEST(Regions, ASnakeAcrossA4kMapIsOneRegion) {
  // Full rows (or columns) of class 1 linked by one pixel at alternate ends:
  // one region millions of pixels long, with thousands of sets merging.
  const int w = 4096, h = 2160;
  for (bool by_rows : {true, false}) {
    SCOPED_TRACE(by_rows ? "rows" : "columns");
    Map m(static_cast<std::size_t>(w) * h, 0);
    std::uint64_t n = 0;
    const int lines = by_rows ? h : w, length = by_rows ? w : h;
    for (int i = 0; i < lines; ++i)
      for (int j = 0; j < length; ++j) {
        const bool link = (i / 2) % 2 == 0 ? j == length - 1 : j == 0;
        if (i % 2 == 1 && !link) continue;
        m[by_rows ? static_cast<std::size_t>(i) * w + j : static_cast<std::size_t>(j) * w + i] = 1;
        ++n;
      }
    const std::vector<Region> r = label_regions(m.data(), w, h, 16);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(tuples(r), (std::vector<RegionTuple>{{1, 0, 0, w, h, n}}));
  }
}

TEST(Regions, RandomMapsMatchAFloodFill) {
  std::mt19937 rng(5);
  for (int i = 0; i < 200; ++i) {
    SCOPED_TRACE("map " + std::to_string(i));
    // Half the maps are mostly background, so regions vary in size.
    const int w = 32, h = 32, sparse = i % 2;
    Map m(static_cast<std::size_t>(w) * h);
    for (auto& v : m) v = sparse && rng() % 3 ? 0 : static_cast<std::uint8_t>(rng() % 3);
    const std::uint64_t min_area = rng() % 6;
    // Same regions in the same (raster) order.
    EXPECT_EQ(tuples(label_regions(m.data(), w, h, min_area)), flood_fill_regions(m.data(), w, h, min_area));
  }
}

TEST(Regions, ThinMapsMatchAFloodFill) {
  std::mt19937 rng(6);
  for (auto [w, h] : {std::pair{1, 1}, {1, 40}, {40, 1}, {2, 33}, {33, 2}}) {
    SCOPED_TRACE(std::to_string(w) + "x" + std::to_string(h));
    Map m(static_cast<std::size_t>(w) * h);
    for (auto& v : m) v = static_cast<std::uint8_t>(rng() % 3);
    EXPECT_EQ(tuples(label_regions(m.data(), w, h, 0)), flood_fill_regions(m.data(), w, h, 0));
  }
}

// Long runs, as segmentations have, of every length around the labeller's
// 8-byte steps, starting and ending anywhere in a row of odd width.
TEST(Regions, LongRunMapsMatchAFloodFill) {
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) {
    SCOPED_TRACE("map " + std::to_string(i));
    const int w = 61 + i % 11, h = 24;
    Map m(static_cast<std::size_t>(w) * h, static_cast<std::uint8_t>(i % 2 ? 0 : rng() % 3));
    for (int r = 0; r < 6; ++r) {  // rectangles of random classes, overlapping
      const int x0 = static_cast<int>(rng() % w), y0 = static_cast<int>(rng() % h);
      const int x1 = std::min(w, x0 + 1 + static_cast<int>(rng() % 40)), y1 = std::min(h, y0 + 1 + static_cast<int>(rng() % 12));
      const auto c = static_cast<std::uint8_t>(rng() % 4);
      for (int y = y0; y < y1; ++y) std::fill(m.begin() + y * w + x0, m.begin() + y * w + x1, c);
    }
    EXPECT_EQ(tuples(label_regions(m.data(), w, h, 0)), flood_fill_regions(m.data(), w, h, 0));
  }
}

// The most pixels first, ties to the earlier region, back in raster order.
TEST(Regions, KeepLargestKeepsTheBiggestInRasterOrder) {
  auto make = [](std::vector<std::uint64_t> sizes) {
    std::vector<Region> r;
    for (std::size_t i = 0; i < sizes.size(); ++i) r.push_back({1, static_cast<int>(i), 0, 1, 1, sizes[i]});
    return r;
  };
  auto xs = [](const std::vector<Region>& r) {
    std::vector<int> x;
    for (const Region& g : r) x.push_back(g.x);
    return x;
  };
  std::vector<Region> r = make({5, 9, 9, 2, 7});
  EXPECT_EQ(i2sbseg_gst::keep_largest(r, 3), 2u);
  EXPECT_EQ(xs(r), std::vector<int>({1, 2, 4}));
  r = make({5, 9, 9, 2, 7});
  EXPECT_EQ(i2sbseg_gst::keep_largest(r, 1), 4u);
  EXPECT_EQ(xs(r), std::vector<int>({1})) << "a tie goes to the earlier region";
  r = make({3, 3, 3});
  EXPECT_EQ(i2sbseg_gst::keep_largest(r, 2), 1u);
  EXPECT_EQ(xs(r), std::vector<int>({0, 1}));
  for (std::size_t max : {std::size_t{0}, std::size_t{5}, std::size_t{9}}) {
    r = make({5, 9, 9, 2, 7});
    EXPECT_EQ(i2sbseg_gst::keep_largest(r, max), 0u) << max;
    EXPECT_EQ(xs(r), std::vector<int>({0, 1, 2, 3, 4})) << max;
  }
}
