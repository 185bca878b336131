// SPDX-License-Identifier: MIT
// ClipScorer (tools/clip_scores.h) against scores worked out by hand on
// three 4x1 frames, and its refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include <i2sbseg/class_list.h>
#include <i2sbseg/error.h>

#include "../../tools/clip_scores.h"

using i2sbseg::kIgnoreIndex;
using i2sbseg::tools::ClipScorer;
using Map = std::vector<std::uint8_t>;

TEST(ClipScores, HandComputedClip) {
  // truth:      0 1 1 1 | 0 1 1 2 | 0 255 1 2
  // predicted:  0 1 0 1 | 0 1 1 1 | 1 1   1 2
  const Map t0{0, 1, 1, 1}, t1{0, 1, 1, 2}, t2{0, kIgnoreIndex, 1, 2};
  const Map p0{0, 1, 0, 1}, p1{0, 1, 1, 1}, p2{1, 1, 1, 2};
  ClipScorer s(3, 0.0);
  s.add(p0, &t0, 4, 1);
  s.add(p1, &t1, 4, 1);
  s.add(p2, &t2, 4, 1);
  const auto r = s.scores();
  EXPECT_EQ(r.frames, 3);
  // Changed pixels: p0->p1 one (x=2), p1->p2 two (x=0, x=3): (1/4 + 2/4) / 2.
  EXPECT_DOUBLE_EQ(r.flicker, 0.375);
  // Truth steady: pair 1 at x=0,1,2 (x=3 changed 1->2): prediction changed at
  // x=2; pair 2 at x=0, 2, 3 (x=1 unlabelled now): changed at x=0, 3. 3 of 6.
  EXPECT_DOUBLE_EQ(r.flicker_steady_truth, 0.5);
  // 11 labelled pixels, right: 3 + 3 + 2 = 8.
  EXPECT_DOUBLE_EQ(r.pixel_accuracy, 8.0 / 11);
  // Confusion (truth, predicted): (0,0) 2, (0,1) 1, (1,0) 1, (1,1) 5, (2,1) 1, (2,2) 1.
  // IoU 0: 2 / (3 + 3 - 2) = 0.5; 1: 5 / (6 + 7 - 5) = 0.625; 2: 1 / (2 + 1 - 1) = 0.5.
  EXPECT_NEAR(r.miou, (0.5 + 0.625 + 0.5) / 3, 1e-12);
  ASSERT_EQ(r.class_iou.size(), 3u);
  EXPECT_NEAR(r.class_iou[0], 0.5, 1e-12);
  EXPECT_NEAR(r.class_iou[1], 0.625, 1e-12);
  EXPECT_NEAR(r.class_iou[2], 0.5, 1e-12);
  EXPECT_GE(r.boundary_f, 0.0);
  EXPECT_LE(r.boundary_f, 1.0);
}

TEST(ClipScores, WithoutTruthOnlyFlicker) {
  ClipScorer s(2);
  s.add({0, 0}, nullptr, 2, 1);
  s.add({0, 1}, nullptr, 2, 1);
  const auto r = s.scores();
  EXPECT_DOUBLE_EQ(r.flicker, 0.5);
  EXPECT_TRUE(std::isnan(r.miou));
  EXPECT_TRUE(std::isnan(r.flicker_steady_truth));
}

TEST(ClipScores, Refusals) {
  ClipScorer s(2);
  EXPECT_THROW(s.add({0, 0, 0}, nullptr, 2, 1), i2sbseg::Error) << "map not w x h";
  const Map t{0, 1};
  s.add({0, 0}, &t, 2, 1);
  EXPECT_THROW(s.scores(), i2sbseg::Error) << "one frame";
  EXPECT_THROW(s.add({0, 0}, nullptr, 2, 1), i2sbseg::Error) << "truth on some frames only";
  const Map small{0};
  EXPECT_THROW(s.add({0, 0}, &small, 2, 1), i2sbseg::Error) << "truth of another size";
}
