// SPDX-License-Identifier: MIT
// Metrics against confusion matrices worked out by hand, and the boundary
// F-score against hand counts and a brute-force float64 reference; truth
// pixels of 255 (unlabelled) count nowhere.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <tuple>

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

// Truth 255 (kIgnoreIndex, unlabelled) counts nowhere; with those pixels
// removed (positions 2, 5, 8):
//   truth:     0 0 1 1 2 2 0
//   predicted: 0 1 1 0 2 2 0
// Rows = truth, columns = predicted:
//   [2 1 0]
//   [1 1 0]
//   [0 0 2]
// 5 of 7 right; IoU0 = 2/(3+3-2) = 1/2, IoU1 = 1/(2+2-1) = 1/3, IoU2 = 1.
TEST(Metrics, UnlabelledTruthPixelsCountNowhere) {
  static_assert(i2sbseg::kIgnoreIndex == 255);
  const std::vector<std::uint8_t> truth{0, 0, 255, 1, 1, 255, 2, 2, 255, 0};
  const std::vector<std::uint8_t> pred{0, 1, 2, 1, 0, 1, 2, 2, 0, 0};
  ConfusionMatrix m(3);
  m.add(pred.data(), truth.data(), truth.size());
  EXPECT_EQ(m.total(), 7);
  const std::vector<std::int64_t> want{2, 1, 0, 1, 1, 0, 0, 0, 2};
  for (int t = 0; t < 3; ++t)
    for (int p = 0; p < 3; ++p) EXPECT_EQ(m.at(t, p), want[t * 3 + p]) << t << " " << p;
  EXPECT_DOUBLE_EQ(m.pixel_accuracy(), 5.0 / 7.0);
  const auto iou = m.iou();
  EXPECT_DOUBLE_EQ(iou[0], 0.5);
  EXPECT_DOUBLE_EQ(iou[1], 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(iou[2], 1.0);
  EXPECT_DOUBLE_EQ(m.mean_iou(), (0.5 + 1.0 / 3.0 + 1.0) / 3);
  // Counting them as any class instead gives other scores.
  for (std::uint8_t c = 0; c < 3; ++c) {
    std::vector<std::uint8_t> as_c = truth;
    std::replace(as_c.begin(), as_c.end(), std::uint8_t{255}, c);
    ConfusionMatrix n(3);
    n.add(pred.data(), as_c.data(), as_c.size());
    EXPECT_EQ(n.total(), 10);
    EXPECT_NE(n.pixel_accuracy(), m.pixel_accuracy()) << int(c);
    EXPECT_NE(n.mean_iou(), m.mean_iou()) << int(c);
  }
  // Only unlabelled pixels: nothing counted, scores 0 (not NaN).
  ConfusionMatrix none(3);
  const std::vector<std::uint8_t> all_ignored(4, 255);
  none.add(pred.data(), all_ignored.data(), 4);
  EXPECT_EQ(none.total(), 0);
  EXPECT_DOUBLE_EQ(none.pixel_accuracy(), 0.0);
  EXPECT_DOUBLE_EQ(none.mean_iou(), 0.0);
  // A predicted 255 is still beyond 3 classes; with 256 classes a truth
  // 255 is still unlabelled.
  EXPECT_THROW(none.add(all_ignored.data(), pred.data(), 4), i2sbseg::Error);
  EXPECT_THROW(none.add(all_ignored.data(), all_ignored.data(), 4), i2sbseg::Error);
  ConfusionMatrix wide(256);
  wide.add(all_ignored.data(), all_ignored.data(), 4);
  EXPECT_EQ(wide.total(), 0);
}

// ---- Boundary F-score ------------------------------------------------------

namespace {

using Map = std::vector<std::uint8_t>;

// A w x h map of class 0 with a side x side square of class `c` at (x0, y0).
Map square(int w, int h, int x0, int y0, int side, std::uint8_t c = 1) {
  Map m(static_cast<size_t>(w) * h, 0);
  for (int y = y0; y < y0 + side; ++y)
    for (int x = x0; x < x0 + side; ++x)
      if (x >= 0 && x < w && y >= 0 && y < h) m[static_cast<size_t>(y) * w + x] = c;
  return m;
}

// The reference, written independently of the library: edge pixels by
// definition, every pair's Euclidean distance in float64.
struct BruteCounts {
  std::int64_t pred_edges = 0, pred_matched = 0, truth_edges = 0, truth_matched = 0;
};

// Edge pixels; with `skip`, 255 is no label (never an edge, and no
// neighbour's other label). `scored`: only pixels where it is not 255.
std::vector<std::pair<int, int>> brute_edges(const Map& m, int w, int h, bool skip = false,
                                             const Map* scored = nullptr) {
  std::vector<std::pair<int, int>> out;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const int dirs[4][2] = {{0, 1}, {0, -1}, {1, 0}, {-1, 0}};
      bool edge = false;
      for (const auto& d : dirs) {
        const int yy = y + d[0], xx = x + d[1];
        if (yy >= 0 && yy < h && xx >= 0 && xx < w && m[yy * w + xx] != m[y * w + x] &&
            !(skip && (m[yy * w + xx] == 255 || m[y * w + x] == 255)))
          edge = true;
      }
      if (edge && !(scored && (*scored)[y * w + x] == 255)) out.emplace_back(y, x);
    }
  return out;
}

std::int64_t brute_matched(const std::vector<std::pair<int, int>>& from, const std::vector<std::pair<int, int>>& to,
                           double d) {
  std::int64_t n = 0;
  for (const auto& [y, x] : from) {
    double best = std::numeric_limits<double>::infinity();
    for (const auto& [v, u] : to) best = std::min(best, std::sqrt(double(y - v) * (y - v) + double(x - u) * (x - u)));
    n += best <= d;
  }
  return n;
}

// Each 255 pixel takes the label of the labelled pixel at the least
// (squared distance, dy, dx), searched over the whole map, if that distance
// is at most `band`.
Map brute_fill(const Map& truth, int w, int h, double band) {
  Map out = truth;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      if (truth[y * w + x] != 255) continue;
      std::tuple<int, int, int> best{std::numeric_limits<int>::max(), 0, 0};
      std::uint8_t label = 255;
      for (int v = 0; v < h; ++v)
        for (int u = 0; u < w; ++u) {
          if (truth[v * w + u] == 255) continue;
          const std::tuple<int, int, int> key{(v - y) * (v - y) + (u - x) * (u - x), v - y, u - x};
          if (std::sqrt(double(std::get<0>(key))) <= band && key < best) {
            best = key;
            label = truth[v * w + u];
          }
        }
      out[y * w + x] = label;
    }
  return out;
}

// Truth 255 (unlabelled), after brute_fill: no truth edges on or against
// it; predicted edges on it are not scored but do match truth edges.
void brute_add(BruteCounts& c, const Map& pred, const Map& raw_truth, int w, int h, double d, double band = 0) {
  const Map truth = brute_fill(raw_truth, w, h, band);
  const auto pe = brute_edges(pred, w, h), te = brute_edges(truth, w, h, true);
  const auto scored = brute_edges(pred, w, h, false, &truth);
  c.pred_edges += static_cast<std::int64_t>(scored.size());
  c.truth_edges += static_cast<std::int64_t>(te.size());
  c.pred_matched += brute_matched(scored, te, d);
  c.truth_matched += brute_matched(te, pe, d);
}

double brute_f(const BruteCounts& c) {
  const double p = c.pred_edges ? double(c.pred_matched) / c.pred_edges : 1.0;
  const double r = c.truth_edges ? double(c.truth_matched) / c.truth_edges : 1.0;
  return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

}  // namespace

TEST(BoundaryF, EdgesArePixelsWithADifferentFourNeighbour) {
  // 0 0 0 0
  // 0 1 1 0      both sides of every class change are edges; the
  // 0 0 0 0      diagonal corners (0,0), (3,0), ... are not
  const Map m{0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0};
  const Map want{0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 0};
  EXPECT_EQ(i2sbseg::class_edges(m.data(), 3, 4), want);
  // The image border is not an edge.
  const Map flat(12, 2);
  EXPECT_EQ(i2sbseg::class_edges(flat.data(), 3, 4), Map(12, 0));
}

// A 6 x 6 square (x, y in 0..5 relative) has 20 inner edge pixels (its
// ring) and 24 outer ones (the background pixels 4-adjacent to a side;
// corners' diagonals are not): 44.
//
// Shifted right by 1, d = 2: every predicted edge pixel is its truth
// counterpart moved 1 px, so P = R = F = 1.
//
// Shifted right by 3 (square at x 3..8), d = 2. Truth edge pixels T lie in
// columns x = -1, 0, 5, 6 (rows y 0..5) and in rows y = -1, 0, 5, 6 (x 0..5).
// Predicted edge pixels, column by column:
//   x = 2 (outer left, y 0..5):  (0, y) in T at 2 px        6 of 6 matched
//   x = 3 (inner left, y 0..5):  (5, y) in T at 2 px        6 of 6
//   x = 8 (inner right, y 0..5): (6, y) in T at 2 px        6 of 6
//   x = 9 (outer right, y 0..5): nearest (6, y) at 3 px     0 of 6
//   rows y = 0 and 5, x 4..7:    (4,0),(5,0),(6,0) in T; (7,0) 1 px from (6,0)   8 of 8
//   rows y = -1 and 6, x 3..8:   x 3..5 in T; (6,-1) 1 px from (6,0); (7,-1)
//                                sqrt(2) from (6,0); (8,-1) sqrt(5) > 2       10 of 12
// P = 36 / 44 = 9/11. The mirror x -> 8 - x swaps the two maps, so R = 9/11
// too and F = 9/11.
TEST(BoundaryF, SquareShiftedByOneAndByThreePixels) {
  const int w = 20, h = 16;
  const Map truth = square(w, h, 4, 5, 6);
  i2sbseg::BoundaryScore one(2.0);
  one.add(square(w, h, 5, 5, 6).data(), truth.data(), h, w);
  EXPECT_EQ(one.predicted_edges(), 44);
  EXPECT_EQ(one.truth_edges(), 44);
  EXPECT_DOUBLE_EQ(one.precision(), 1.0);
  EXPECT_DOUBLE_EQ(one.recall(), 1.0);
  EXPECT_DOUBLE_EQ(one.f_score(), 1.0);

  i2sbseg::BoundaryScore three(2.0);
  three.add(square(w, h, 7, 5, 6).data(), truth.data(), h, w);
  EXPECT_EQ(three.predicted_edges(), 44);
  EXPECT_EQ(three.matched_predicted(), 36);
  EXPECT_EQ(three.truth_edges(), 44);
  EXPECT_EQ(three.matched_truth(), 36);
  EXPECT_DOUBLE_EQ(three.precision(), 9.0 / 11.0);
  EXPECT_DOUBLE_EQ(three.recall(), 9.0 / 11.0);
  EXPECT_DOUBLE_EQ(three.f_score(), 9.0 / 11.0);

  // With d = 3 every pixel of the 3-px shift finds its counterpart.
  i2sbseg::BoundaryScore wide(3.0);
  wide.add(square(w, h, 7, 5, 6).data(), truth.data(), h, w);
  EXPECT_DOUBLE_EQ(wide.f_score(), 1.0);
}

// No edges anywhere: P = R = F = 1. Edges in only one map: F = 0.
TEST(BoundaryF, MapsWithoutEdges) {
  const int w = 8, h = 8;
  const Map flat(64, 0), other_flat(64, 2), sq = square(w, h, 2, 2, 3);
  i2sbseg::BoundaryScore none;
  none.add(flat.data(), other_flat.data(), h, w);  // wrong class, but no edges in either
  EXPECT_EQ(none.predicted_edges() + none.truth_edges(), 0);
  EXPECT_DOUBLE_EQ(none.precision(), 1.0);
  EXPECT_DOUBLE_EQ(none.recall(), 1.0);
  EXPECT_DOUBLE_EQ(none.f_score(), 1.0);

  i2sbseg::BoundaryScore missed;  // the prediction has no edge, the truth has
  missed.add(flat.data(), sq.data(), h, w);
  EXPECT_DOUBLE_EQ(missed.precision(), 1.0);
  EXPECT_DOUBLE_EQ(missed.recall(), 0.0);
  EXPECT_DOUBLE_EQ(missed.f_score(), 0.0);

  i2sbseg::BoundaryScore invented;  // edges predicted where the truth has none
  invented.add(sq.data(), flat.data(), h, w);
  EXPECT_DOUBLE_EQ(invented.precision(), 0.0);
  EXPECT_DOUBLE_EQ(invented.recall(), 1.0);
  EXPECT_DOUBLE_EQ(invented.f_score(), 0.0);
}

// Counts add up over images: the score of the totals, not the mean of each
// image's F. An image without edges (F = 1 on its own) adds nothing.
TEST(BoundaryF, TotalsOverImagesNotAMeanOfScores) {
  const int w = 20, h = 16;
  const Map truth = square(w, h, 4, 5, 6), flat(static_cast<size_t>(w) * h, 0);
  i2sbseg::BoundaryScore s(2.0), a(2.0), b(2.0);
  s.add(flat.data(), flat.data(), h, w);
  s.add(square(w, h, 7, 5, 6).data(), truth.data(), h, w);
  EXPECT_DOUBLE_EQ(s.f_score(), 9.0 / 11.0);  // the mean of 1 and 9/11 would be 10/11
  a.add(square(w, h, 5, 5, 6).data(), truth.data(), h, w);
  b.add(square(w, h, 7, 5, 6).data(), truth.data(), h, w);
  a.merge(b);
  EXPECT_EQ(a.predicted_edges(), 88);
  EXPECT_EQ(a.matched_predicted(), 44 + 36);
  EXPECT_DOUBLE_EQ(a.precision(), 80.0 / 88.0);
  EXPECT_THROW(a.merge(i2sbseg::BoundaryScore(1.0)), i2sbseg::Error);
}

TEST(BoundaryF, MatchesABruteForceReferenceOnRandomMaps) {
  std::mt19937 rng(11);
  for (double d : {0.0, 1.0, 1.5, 2.0, 3.0}) {
    i2sbseg::BoundaryScore s(d);
    BruteCounts ref;
    for (int image = 0; image < 6; ++image) {
      const int w = 9 + image, h = 7 + 2 * image;
      // Blocky maps (a few rectangles of 3 classes) so that edges are lines,
      // plus some single-pixel speckle.
      Map truth(static_cast<size_t>(w) * h, 0), pred;
      for (int k = 0; k < 3; ++k) {
        const int x0 = rng() % w, y0 = rng() % h, x1 = x0 + 1 + rng() % 5, y1 = y0 + 1 + rng() % 5;
        for (int y = y0; y < std::min(h, y1); ++y)
          for (int x = x0; x < std::min(w, x1); ++x) truth[y * w + x] = static_cast<std::uint8_t>(1 + k % 2);
      }
      pred = truth;
      for (auto& v : pred)
        if (rng() % 9 == 0) v = static_cast<std::uint8_t>(rng() % 3);
      s.add(pred.data(), truth.data(), h, w);
      brute_add(ref, pred, truth, w, h, d);
    }
    EXPECT_EQ(s.predicted_edges(), ref.pred_edges) << "d " << d;
    EXPECT_EQ(s.matched_predicted(), ref.pred_matched) << "d " << d;
    EXPECT_EQ(s.truth_edges(), ref.truth_edges) << "d " << d;
    EXPECT_EQ(s.matched_truth(), ref.truth_matched) << "d " << d;
    EXPECT_NEAR(s.f_score(), brute_f(ref), 1e-12) << "d " << d;
    EXPECT_GT(ref.pred_edges, 0);
    if (d > 0) {
      EXPECT_LT(ref.pred_matched, ref.pred_edges) << "a test that matches everything shows nothing";
    }
  }
}

// Unlabelled truth (255): its pixels are never truth edges, a class next to
// it is no edge either, predicted edges on it are not scored but match
// truth edges.
//   0 0 1 1        edges, 255 skipped:  0 1 1 0    255 as a label: 0 1 1 0
//   0 X 1 1        (X = 255)            0 0 1 0                    1 1 1 0
//   0 0 0 1                             0 0 1 1                    0 1 1 1
TEST(BoundaryF, UnlabelledTruthEdges) {
  const Map m{0, 0, 1, 1, 0, 255, 1, 1, 0, 0, 0, 1};
  EXPECT_EQ(i2sbseg::class_edges(m.data(), 3, 4, true), (Map{0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1}));
  EXPECT_EQ(i2sbseg::class_edges(m.data(), 3, 4), (Map{0, 1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1}));
}

// Two 1 x 8 images, d = 1, no band filling (X = 255, E = edge pixel):
//   truth  1 1 2 X X 0 0 0    truth edges (class 1 | 2):      . E E . . . . .
//   pred   1 1 1 1 0 0 0 0    predicted edges (1 | 0):        . . . E E . . .
// Both predicted edges lie on unlabelled truth: not scored. The truth edge
// at 2 is matched by the predicted one at 3 (1 px), the one at 1 is not
// (2 px). The 2 | X and X | 0 borders are no truth edges.
//   truth  0 0 0 X X 1 1 1    no truth edge (0 | X and X | 1 are none)
//   pred   0 0 0 0 0 0 0 0    no predicted edge
// Totals: 0 predicted edges (P = 1), 1 of 2 truth edges matched (R = 1/2):
// F = 2/3.
TEST(BoundaryF, UnlabelledTruthPixelsAreNoBoundaryAndNotScored) {
  const Map t1{1, 1, 2, 255, 255, 0, 0, 0}, p1{1, 1, 1, 1, 0, 0, 0, 0};
  const Map t2{0, 0, 0, 255, 255, 1, 1, 1}, p2(8, 0);
  i2sbseg::BoundaryScore s(1.0, 0.0);
  s.add(p1.data(), t1.data(), 1, 8);
  s.add(p2.data(), t2.data(), 1, 8);
  EXPECT_EQ(s.predicted_edges(), 0);
  EXPECT_EQ(s.matched_predicted(), 0);
  EXPECT_EQ(s.truth_edges(), 2);
  EXPECT_EQ(s.matched_truth(), 1);
  EXPECT_DOUBLE_EQ(s.precision(), 1.0);
  EXPECT_DOUBLE_EQ(s.recall(), 0.5);
  EXPECT_DOUBLE_EQ(s.f_score(), 2.0 / 3.0);
  // Reading 255 as class 0, 1, 2 or a label of its own (3) gives other
  // scores: 4/7, 8/11, 6/11, 8/13.
  const double other[] = {4.0 / 7.0, 8.0 / 11.0, 6.0 / 11.0, 8.0 / 13.0};
  for (std::uint8_t c = 0; c < 4; ++c) {
    Map a = t1, b = t2;
    std::replace(a.begin(), a.end(), std::uint8_t{255}, c);
    std::replace(b.begin(), b.end(), std::uint8_t{255}, c);
    i2sbseg::BoundaryScore n(1.0, 0.0);
    n.add(p1.data(), a.data(), 1, 8);
    n.add(p2.data(), b.data(), 1, 8);
    EXPECT_DOUBLE_EQ(n.f_score(), other[c]) << int(c);
    EXPECT_NE(n.f_score(), s.f_score()) << int(c);
  }
}

// The same rule against the brute-force reference, on random maps with
// unlabelled speckle and blocks in the truth, without and with band filling.
TEST(BoundaryF, UnlabelledTruthMatchesTheBruteForceReference) {
  std::map<double, std::int64_t> unfilled_truth_edges;  // by d, band 0
  for (double band : {0.0, 1.5, 4.0})
  for (double d : {0.0, 1.0, 2.0}) {
    std::mt19937 rng(5 + static_cast<unsigned>(d * 10));  // the same maps for every band
    i2sbseg::BoundaryScore s(d, band);
    BruteCounts ref;
    std::size_t all_predicted = 0;  // scored or not
    for (int image = 0; image < 6; ++image) {
      const int w = 10 + image, h = 8 + image;
      Map truth(static_cast<size_t>(w) * h, 0);
      for (int k = 0; k < 4; ++k) {
        const int x0 = rng() % w, y0 = rng() % h, x1 = x0 + 1 + rng() % 5, y1 = y0 + 1 + rng() % 5;
        for (int y = y0; y < std::min(h, y1); ++y)
          for (int x = x0; x < std::min(w, x1); ++x) truth[y * w + x] = static_cast<std::uint8_t>(k == 3 ? 255 : 1 + k % 2);
      }
      Map pred = truth;
      for (auto& v : pred)
        if (v == 255 || rng() % 9 == 0) v = static_cast<std::uint8_t>(rng() % 3);
      for (auto& v : truth)
        if (rng() % 15 == 0) v = 255;
      s.add(pred.data(), truth.data(), h, w);
      brute_add(ref, pred, truth, w, h, d, band);
      all_predicted += brute_edges(pred, w, h).size();
    }
    EXPECT_EQ(s.predicted_edges(), ref.pred_edges) << "d " << d << " band " << band;
    EXPECT_EQ(s.matched_predicted(), ref.pred_matched) << "d " << d << " band " << band;
    EXPECT_EQ(s.truth_edges(), ref.truth_edges) << "d " << d << " band " << band;
    EXPECT_EQ(s.matched_truth(), ref.truth_matched) << "d " << d << " band " << band;
    EXPECT_NEAR(s.f_score(), brute_f(ref), 1e-12) << "d " << d << " band " << band;
    if (band == 0) {
      EXPECT_LT(ref.pred_edges, static_cast<std::int64_t>(all_predicted)) << "some predicted edges lie on 255";
      unfilled_truth_edges[d] = ref.truth_edges;
    } else {
      EXPECT_GT(ref.truth_edges, unfilled_truth_edges[d]) << "filling makes truth edges; d " << d;
    }
    EXPECT_GT(ref.truth_edges, 0);
  }
}

// Filling by hand (X = 255):
//   1 1 2 X X 0 0 0, band 4:  1 1 2 2 0 0 0 0   (each X from its nearest side)
//   1 X X X 2, band 4:        1 1 1 2 2         (the middle one ties: dx = -2 comes first)
//   1 X X X X X X X X X X 2, band 2:  1 1 1 X X X X X X 2 2 2   (beyond 2 px stays unlabelled)
//   column 1 X 2, band 1:     1 1 2             (a tie: dy = -1 comes first)
TEST(BoundaryF, NarrowUnlabelledBandsFillFromBothSides) {
  const Map a{1, 1, 2, 255, 255, 0, 0, 0}, b{1, 255, 255, 255, 2};
  const Map c{1, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 2}, col{1, 255, 2};
  EXPECT_EQ(i2sbseg::fill_unlabelled_bands(a.data(), 1, 8, 4), (Map{1, 1, 2, 2, 0, 0, 0, 0}));
  EXPECT_EQ(i2sbseg::fill_unlabelled_bands(b.data(), 1, 5, 4), (Map{1, 1, 1, 2, 2}));
  EXPECT_EQ(i2sbseg::fill_unlabelled_bands(c.data(), 1, 12, 2),
            (Map{1, 1, 1, 255, 255, 255, 255, 255, 255, 2, 2, 2}));
  EXPECT_EQ(i2sbseg::fill_unlabelled_bands(col.data(), 3, 1, 1), (Map{1, 1, 2}));
  EXPECT_EQ(i2sbseg::fill_unlabelled_bands(a.data(), 1, 8, 0), a);
  const Map none(6, 255);
  EXPECT_EQ(i2sbseg::fill_unlabelled_bands(none.data(), 2, 3, 4), none);
}

// The 1 x 8 image of UnlabelledTruthPixelsAreNoBoundaryAndNotScored with
// the default band (4 px), d = 1: truth filled to 1 1 2 2 0 0 0 0 has edges
// at 1, 2 (1 | 2) and 3, 4 (2 | 0); predicted 1 1 1 1 0 0 0 0 has edges at
// 3, 4, both on truth edges (P = 2/2); truth edges 2, 3, 4 are within 1 px
// of a predicted one, 1 is 2 px away (R = 3/4): F = 6/7.
TEST(BoundaryF, ABandBetweenTwoClassesHasItsEdgeInTheMiddle) {
  const Map t{1, 1, 2, 255, 255, 0, 0, 0}, p{1, 1, 1, 1, 0, 0, 0, 0};
  i2sbseg::BoundaryScore s(1.0);
  EXPECT_EQ(s.band(), i2sbseg::BoundaryScore::kDefaultBand);
  s.add(p.data(), t.data(), 1, 8);
  EXPECT_EQ(s.predicted_edges(), 2);
  EXPECT_EQ(s.matched_predicted(), 2);
  EXPECT_EQ(s.truth_edges(), 4);
  EXPECT_EQ(s.matched_truth(), 3);
  EXPECT_DOUBLE_EQ(s.f_score(), 6.0 / 7.0);
  EXPECT_THROW(s.merge(i2sbseg::BoundaryScore(1.0, 2.0)), i2sbseg::Error);
}

// A teacher's mask: a 10 px square of class 1 on class 0 with 255 on both
// sides of its edge (every pixel with another class within its 3 x 3, a
// 2 px band). Without filling there is no truth edge at all, so any
// prediction scores R = 1; with it the band's middle is the square's edge:
// the square itself scores F = 1, the square moved by 3 px less.
TEST(BoundaryF, ABandedSquareScoresTheSquareAndNotAShiftedOne) {
  const int w = 24, h = 24;
  const Map sq = square(w, h, 7, 7, 10);
  Map banded = sq;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          const int yy = y + dy, xx = x + dx;
          if (yy >= 0 && yy < h && xx >= 0 && xx < w && sq[yy * w + xx] != sq[y * w + x]) banded[y * w + x] = 255;
        }
  EXPECT_EQ(i2sbseg::fill_unlabelled_bands(banded.data(), h, w, 4), sq);
  i2sbseg::BoundaryScore unfilled(1.0, 0.0), same(1.0), shifted(1.0);
  unfilled.add(sq.data(), banded.data(), h, w);
  EXPECT_EQ(unfilled.truth_edges(), 0);
  same.add(sq.data(), banded.data(), h, w);
  EXPECT_GT(same.truth_edges(), 0);
  EXPECT_DOUBLE_EQ(same.f_score(), 1.0);
  shifted.add(square(w, h, 10, 7, 10).data(), banded.data(), h, w);
  EXPECT_LT(shifted.f_score(), 0.75);
}

TEST(BoundaryF, BandOutOfRangeIsAnOptionError) {
  const Map m(4, 255);
  for (double band : {-1.0, 33.0, std::nan("")}) {
    for (int which = 0; which < 2; ++which) {
      try {
        if (which == 0) {
          i2sbseg::BoundaryScore s(2.0, band);
        } else {
          i2sbseg::fill_unlabelled_bands(m.data(), 2, 2, band);
        }
        ADD_FAILURE() << band;
      } catch (const i2sbseg::Error& e) {
        EXPECT_EQ(e.kind(), i2sbseg::ErrorKind::kInvalidOption);
        EXPECT_EQ(e.field(), "boundary_band");
      }
    }
  }
}

TEST(BoundaryF, ToleranceOutOfRangeIsAnOptionError) {
  for (double d : {-1.0, 65.0, std::nan("")}) {
    try {
      i2sbseg::BoundaryScore s(d);
      ADD_FAILURE() << d;
    } catch (const i2sbseg::Error& e) {
      EXPECT_EQ(e.kind(), i2sbseg::ErrorKind::kInvalidOption);
      EXPECT_EQ(e.field(), "boundary_tolerance");
    }
  }
}
