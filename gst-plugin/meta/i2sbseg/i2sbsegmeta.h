// SPDX-License-Identifier: MIT
/* The class map that the i2sbseg element attaches to each output buffer, for
 * applications (an appsink, a pad probe). C API; link gsti2sbsegmeta
 * (pkg-config: gsti2sbsegmeta) and include it as <i2sbseg/i2sbsegmeta.h>.
 *
 *   GstI2sbSegMeta *meta = gst_buffer_get_i2sbseg_meta (buffer);
 *   if (meta)
 *     class = meta->class_map[y * meta->width + x];  // name: meta->class_names[class]
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct {
  GstMeta meta;

  guint width;          /* of the class map: the output frame's size */
  guint height;
  guint8 *class_map;    /* width * height class indices, row-major, no padding */
  guint num_classes;
  gchar **class_names;  /* num_classes names, NULL-terminated */
  guint8 *class_colors; /* num_classes RGB triplets, as drawn in overlay mode */
} GstI2sbSegMeta;

GType gst_i2sbseg_meta_api_get_type (void);
#define GST_I2SBSEG_META_API_TYPE (gst_i2sbseg_meta_api_get_type ())

const GstMetaInfo *gst_i2sbseg_meta_get_info (void);
#define GST_I2SBSEG_META_INFO (gst_i2sbseg_meta_get_info ())

#define gst_buffer_get_i2sbseg_meta(b) \
  ((GstI2sbSegMeta *) gst_buffer_get_meta ((b), GST_I2SBSEG_META_API_TYPE))

/* Copies class_map (width * height bytes), the names and the colours
 * (num_classes * 3 bytes) into a new meta on buffer. */
GstI2sbSegMeta *gst_buffer_add_i2sbseg_meta (GstBuffer *buffer, guint width, guint height,
                                             const guint8 *class_map, guint num_classes,
                                             const gchar *const *class_names, const guint8 *class_colors);

G_END_DECLS
