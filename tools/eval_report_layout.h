// SPDX-License-Identifier: MIT
// Where things are in examples.png (`eval --report`): a band of column
// titles, then one row per example image, one column per picture (LR input,
// ground truth, classifier on HR, baseline, bridge), then the legend. Pure
// arithmetic, so tests can find a column without reading the drawing code.
#pragma once

#include <algorithm>

namespace i2sbseg::tools {

struct SheetLayout {
  int rows = 0, columns = 0;
  int cell = 128;          // each picture fits a cell x cell square
  int column_width = 140;  // at least the cell; wide enough for the titles
  int gap = 6, margin = 10, title_height = 26;

  // Top-left corner of a row's picture in column c (pictures are centred in
  // their column).
  int column_x(int c) const { return margin + c * (column_width + gap); }
  int picture_x(int c) const { return column_x(c) + (column_width - cell) / 2; }
  int row_y(int r) const { return margin + title_height + r * (cell + gap); }
  int width() const { return 2 * margin + columns * column_width + (columns - 1) * gap; }
  int legend_top() const { return row_y(rows) + gap; }
};

// Pictures at least 128 px on a side: pictures up to 128 px are enlarged by
// a whole factor (nearest neighbour), larger ones shown at their size up
// to 256 px.
inline SheetLayout sheet_layout(int rows, int columns, int largest_side) {
  SheetLayout l;
  l.rows = rows;
  l.columns = columns;
  const int side = std::max(1, largest_side);
  l.cell = side <= 128 ? side * std::max(1, 128 / side) : std::min(side, 256);
  l.column_width = std::max(l.cell, 140);
  return l;
}

}  // namespace i2sbseg::tools
