// SPDX-License-Identifier: MIT
// The i2sbseg element's types: its property enums with their GTypes, and
// the instance type with its cast macros. What the element's helpers need
// (element_state.h and the files that use it); the class itself, in
// gsti2sbseg.h, sits on top of them.
#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>

G_BEGIN_DECLS

// What the source pad carries.
typedef enum {
  GST_I2SBSEG_MODE_OVERLAY,  // the upscaled frame with class colours blended in
  GST_I2SBSEG_MODE_MASK,     // GRAY8 class indices
} GstI2sbSegMode;

// The source pad's size.
typedef enum {
  GST_I2SBSEG_OUTPUT_SIZE_SCALED,  // scale factor x the input size
  GST_I2SBSEG_OUTPUT_SIZE_INPUT,   // the input size (HR logits pooled back)
} GstI2sbSegOutputSize;

// How overlay mode enlarges the input frame under the class colours.
typedef enum {
  GST_I2SBSEG_UPSCALE_NEAREST,   // pixel replication
  GST_I2SBSEG_UPSCALE_BILINEAR,  // smoother
} GstI2sbSegUpscale;

typedef enum {
  GST_I2SBSEG_PRECISION_AUTO,  // fp16 on CUDA, fp32 on the CPU
  GST_I2SBSEG_PRECISION_FP32,
  GST_I2SBSEG_PRECISION_FP16,
  GST_I2SBSEG_PRECISION_BF16,
} GstI2sbSegPrecision;

#define GST_TYPE_I2SBSEG_MODE (gst_i2sbseg_mode_get_type())
GType gst_i2sbseg_mode_get_type(void);
#define GST_TYPE_I2SBSEG_OUTPUT_SIZE (gst_i2sbseg_output_size_get_type())
GType gst_i2sbseg_output_size_get_type(void);

#define GST_TYPE_I2SBSEG_UPSCALE (gst_i2sbseg_upscale_get_type())
GType gst_i2sbseg_upscale_get_type(void);
#define GST_TYPE_I2SBSEG_PRECISION (gst_i2sbseg_precision_get_type())
GType gst_i2sbseg_precision_get_type(void);

#define GST_TYPE_I2SBSEG (gst_i2sbseg_get_type())
G_DECLARE_FINAL_TYPE(GstI2sbSeg, gst_i2sbseg, GST, I2SBSEG, GstBaseTransform)

G_END_DECLS
