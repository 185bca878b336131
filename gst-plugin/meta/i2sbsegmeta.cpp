// SPDX-License-Identifier: MIT
// GstI2sbSegMeta: registration, copy on buffer copies, freeing. A class map
// is only valid at its frame's size, so transforms other than copies (a
// scale) drop it.
#include "i2sbseg/i2sbsegmeta.h"

#include <gst/video/video.h>

#include <cstring>

namespace {

gboolean meta_init(GstMeta* meta, gpointer, GstBuffer*) {
  auto* m = reinterpret_cast<GstI2sbSegMeta*>(meta);
  m->width = m->height = m->num_classes = 0;
  m->class_map = nullptr;
  m->class_names = nullptr;
  m->class_colors = nullptr;
  return TRUE;
}

void meta_free(GstMeta* meta, GstBuffer*) {
  auto* m = reinterpret_cast<GstI2sbSegMeta*>(meta);
  g_free(m->class_map);
  g_strfreev(m->class_names);
  g_free(m->class_colors);
}

gboolean meta_transform(GstBuffer* dest, GstMeta* meta, GstBuffer*, GQuark type, gpointer data) {
  if (!GST_META_TRANSFORM_IS_COPY(type)) return FALSE;
  auto* copy = static_cast<GstMetaTransformCopy*>(data);
  if (copy->region) return FALSE;  // a part of the buffer: the map no longer fits
  const auto* m = reinterpret_cast<GstI2sbSegMeta*>(meta);
  return gst_buffer_add_i2sbseg_meta(dest, m->width, m->height, m->class_map, m->num_classes, m->class_names,
                                     m->class_colors) != nullptr;
}

}  // namespace

GType gst_i2sbseg_meta_api_get_type(void) {
  static GType type = 0;
  static const gchar* tags[] = {GST_META_TAG_VIDEO_STR, GST_META_TAG_VIDEO_SIZE_STR,
                                GST_META_TAG_VIDEO_ORIENTATION_STR, nullptr};
  if (g_once_init_enter(&type)) g_once_init_leave(&type, gst_meta_api_type_register("GstI2sbSegMetaAPI", tags));
  return type;
}

const GstMetaInfo* gst_i2sbseg_meta_get_info(void) {
  static const GstMetaInfo* info = nullptr;
  if (g_once_init_enter(&info)) {
    const GstMetaInfo* i = gst_meta_register(GST_I2SBSEG_META_API_TYPE, "GstI2sbSegMeta", sizeof(GstI2sbSegMeta),
                                             meta_init, meta_free, meta_transform);
    g_once_init_leave(&info, i);
  }
  return info;
}

GstI2sbSegMeta* gst_buffer_add_i2sbseg_meta(GstBuffer* buffer, guint width, guint height, const guint8* class_map,
                                            guint num_classes, const gchar* const* class_names,
                                            const guint8* class_colors) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer), nullptr);
  g_return_val_if_fail(class_map != nullptr || width * height == 0, nullptr);
  auto* m = reinterpret_cast<GstI2sbSegMeta*>(gst_buffer_add_meta(buffer, GST_I2SBSEG_META_INFO, nullptr));
  if (!m) return nullptr;
  m->width = width;
  m->height = height;
  m->class_map = static_cast<guint8*>(g_memdup2(class_map, static_cast<gsize>(width) * height));
  m->num_classes = num_classes;
  m->class_names = g_new0(gchar*, num_classes + 1);
  for (guint k = 0; k < num_classes; ++k) m->class_names[k] = g_strdup(class_names ? class_names[k] : "");
  m->class_colors = class_colors ? static_cast<guint8*>(g_memdup2(class_colors, num_classes * 3u)) : nullptr;
  return m;
}
