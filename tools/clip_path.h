// SPDX-License-Identifier: MIT
// The camera of `i2sbseg make-clip`: which window of a still image each frame
// of a segment shows. A pure function (no OpenCV), so it can be tested alone.
#pragma once

namespace i2sbseg::tools {

// A window of the image in pixels, inside it.
struct ClipWindow {
  int x = 0, y = 0, width = 0, height = 0;
};

// The image one segment pans over, the output frame size (its aspect is the
// window's) and the window's width as a share of the image's width at the
// segment's first and last frame.
struct ClipCamera {
  int image_width = 0, image_height = 0;
  int out_width = 0, out_height = 0;
  double zoom_from = 0.9, zoom_to = 0.6;
};

// Frame i of n (n >= 2) of a segment. Eased e = (1 - cos(pi i/(n-1))) / 2
// sets the zoom between zoom_from and zoom_to and moves the centre on a line
// from the top-left corner (the window touching it) to the bottom-right one.
// A window taller than the image is scaled down to the image's height.
ClipWindow clip_window(const ClipCamera& camera, int i, int n);

}  // namespace i2sbseg::tools
