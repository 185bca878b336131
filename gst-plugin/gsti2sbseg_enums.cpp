// SPDX-License-Identifier: MIT
// The GEnum types of the element's enum properties (gsti2sbseg.h).
#include "gsti2sbseg_types.h"

GType gst_i2sbseg_mode_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_I2SBSEG_MODE_OVERLAY, "The upscaled frame with class colours blended in", "overlay"},
      {GST_I2SBSEG_MODE_MASK, "Class indices as GRAY8", "mask"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstI2sbSegMode", values));
  return type;
}

GType gst_i2sbseg_output_size_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_I2SBSEG_OUTPUT_SIZE_SCALED, "The model's scale factor x the input size", "scaled"},
      {GST_I2SBSEG_OUTPUT_SIZE_INPUT, "The input size", "input"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstI2sbSegOutputSize", values));
  return type;
}

GType gst_i2sbseg_upscale_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_I2SBSEG_UPSCALE_NEAREST, "Nearest neighbour: each input pixel becomes a block", "nearest"},
      {GST_I2SBSEG_UPSCALE_BILINEAR, "Bilinear interpolation: smoother", "bilinear"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstI2sbSegUpscale", values));
  return type;
}

GType gst_i2sbseg_precision_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_I2SBSEG_PRECISION_AUTO, "fp16 on a CUDA GPU, fp32 on the CPU", "auto"},
      {GST_I2SBSEG_PRECISION_FP32, "32-bit float", "fp32"},
      {GST_I2SBSEG_PRECISION_FP16, "16-bit float (CUDA; most CPU builds of LibTorch lack it)", "fp16"},
      {GST_I2SBSEG_PRECISION_BF16, "bfloat16", "bf16"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstI2sbSegPrecision", values));
  return type;
}
