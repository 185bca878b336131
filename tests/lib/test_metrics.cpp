// SPDX-License-Identifier: MIT
// Metrics against confusion matrices worked out by hand.
#include <gtest/gtest.h>

#include <cmath>

#include <i2sbseg/error.h>
#include <i2sbseg/metrics.h>

using i2sbseg::ConfusionMatrix;

TEST(Metrics, HandComputedConfusionMatrix) {
  // truth:     0 0 0 0 1 1 1 2 2 2
  // predicted: 0 0 1 2 1 1 0 2 2 1
  const std::vector<std::uint8_t> truth{0, 0, 0, 0, 1, 1, 1, 2, 2, 2};
  const std::vector<std::uint8_t> pred{0, 0, 1, 2, 1, 1, 0, 2, 2, 1};
  ConfusionMatrix m(3);
  m.add(pred.data(), truth.data(), truth.size());
  // Rows = truth, columns = predicted:
  //   [2 1 1]
  //   [1 2 0]
  //   [0 1 2]
  EXPECT_EQ(m.at(0, 0), 2);
  EXPECT_EQ(m.at(0, 2), 1);
  EXPECT_EQ(m.at(1, 0), 1);
  EXPECT_EQ(m.at(2, 1), 1);
  EXPECT_EQ(m.total(), 10);
  EXPECT_DOUBLE_EQ(m.pixel_accuracy(), 6.0 / 10.0);
  // IoU0 = 2/(4+3-2) = 2/5; IoU1 = 2/(3+4-2) = 2/5; IoU2 = 2/(3+3-2) = 1/2.
  const auto iou = m.iou();
  EXPECT_DOUBLE_EQ(iou[0], 0.4);
  EXPECT_DOUBLE_EQ(iou[1], 0.4);
  EXPECT_DOUBLE_EQ(iou[2], 0.5);
  EXPECT_DOUBLE_EQ(m.mean_iou(), (0.4 + 0.4 + 0.5) / 3);
}

TEST(Metrics, AbsentClassesDoNotCountInTheMean) {
  const std::vector<std::uint8_t> truth{0, 0, 1, 1}, pred{0, 1, 1, 1};
  ConfusionMatrix m(4);
  m.add(pred.data(), truth.data(), 4);
  const auto iou = m.iou();
  EXPECT_DOUBLE_EQ(iou[0], 0.5);        // 1 / (2 + 1 - 1)
  EXPECT_DOUBLE_EQ(iou[1], 2.0 / 3.0);  // 2 / (2 + 3 - 2)
  EXPECT_TRUE(std::isnan(iou[2]));
  EXPECT_TRUE(std::isnan(iou[3]));
  EXPECT_DOUBLE_EQ(m.mean_iou(), (0.5 + 2.0 / 3.0) / 2);
}

TEST(Metrics, MergeAddsCountsAndPerfectPredictionScoresOne) {
  const std::vector<std::uint8_t> a{0, 1, 2, 2};
  ConfusionMatrix m(3), n(3);
  m.add(a.data(), a.data(), 4);
  n.add(a.data(), a.data(), 4);
  m.merge(n);
  EXPECT_EQ(m.at(2, 2), 4);
  EXPECT_DOUBLE_EQ(m.mean_iou(), 1.0);
  EXPECT_DOUBLE_EQ(m.pixel_accuracy(), 1.0);
  const std::vector<std::uint8_t> bad{3};
  EXPECT_THROW(m.add(bad.data(), a.data(), 1), i2sbseg::Error);
  EXPECT_THROW(m.merge(ConfusionMatrix(2)), i2sbseg::Error);
}
