// SPDX-License-Identifier: MIT
// appsink_classmap: embeds an i2sbseg pipeline in an application and reads
// the class map that the element attaches to each output buffer
// (GstI2sbSegMeta, i2sbseg/i2sbsegmeta.h), printing the class names and
// per-class pixel counts of the first few frames.
//
//   appsink_classmap [--model PATH] [--frames N] [--size WxH] [--input FILE]
//
// Without --input it segments videotestsrc frames; with it, any file that
// decodebin can read. Exit status 0 only if every frame carried the meta.
#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <i2sbseg/i2sbsegmeta.h>

namespace {

struct Options {
  std::string model = "models/default.i2sb";
  std::string input;  // empty: videotestsrc
  int frames = 3;
  int width = 32, height = 24;
};

void usage(const char* argv0) {
  std::printf(
      "usage: %s [--model PATH] [--frames N] [--size WxH] [--input FILE]\n"
      "Runs SOURCE ! i2sbseg ! appsink and prints the class map meta of N frames.\n"
      "  --model PATH   model bundle (default models/default.i2sb)\n"
      "  --frames N     frames to pull (default 3)\n"
      "  --size WxH     low-resolution input size fed to i2sbseg (default 32x24)\n"
      "  --input FILE   a video/image file (default: videotestsrc pattern=smpte)\n",
      argv0);
}

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "-h" || a == "--help") {
      usage(argv[0]);
      std::exit(0);
    } else if (a == "--model" && (v = next())) {
      o.model = v;
    } else if (a == "--input" && (v = next())) {
      o.input = v;
    } else if (a == "--frames" && (v = next())) {
      o.frames = std::atoi(v);
    } else if (a == "--size" && (v = next())) {
      if (std::sscanf(v, "%dx%d", &o.width, &o.height) != 2) return false;
    } else {
      std::fprintf(stderr, "appsink_classmap: bad argument '%s'\n", a.c_str());
      return false;
    }
  }
  return o.frames > 0 && o.width > 0 && o.height > 0;
}

// Prints every error on the bus (a missing model fails the state change with
// a message naming the file; the source's "not-linked" error follows it).
bool report_bus_errors(GstElement* pipeline) {
  GstBus* bus = gst_element_get_bus(pipeline);
  bool any = false;
  while (GstMessage* msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
    GError* err = nullptr;
    gchar* dbg = nullptr;
    gst_message_parse_error(msg, &err, &dbg);
    std::fprintf(stderr, "appsink_classmap: error from %s: %s\n  %s\n", GST_OBJECT_NAME(msg->src), err->message,
                 dbg ? dbg : "");
    g_clear_error(&err);
    g_free(dbg);
    gst_message_unref(msg);
    any = true;
  }
  gst_object_unref(bus);
  return any;
}

// Prints frame `f`'s class map size and each class's share, read from the
// buffer's GstI2sbSegMeta; false (and says so) when it has none.
bool print_class_shares(GstBuffer* buf, int f) {
  const GstI2sbSegMeta* meta = gst_buffer_get_i2sbseg_meta(buf);
  if (!meta) {
    std::fprintf(stderr, "appsink_classmap: frame %d has no GstI2sbSegMeta\n", f);
    return false;
  }
  std::vector<guint64> counts(meta->num_classes, 0);
  const std::size_t n = static_cast<std::size_t>(meta->width) * meta->height;
  for (std::size_t i = 0; i < n; ++i)
    if (meta->class_map[i] < meta->num_classes) ++counts[meta->class_map[i]];
  std::printf("frame %d: pts %.3f s, class map %ux%u, %u classes\n", f,
              GST_BUFFER_PTS_IS_VALID(buf) ? GST_BUFFER_PTS(buf) / 1e9 : -1.0, meta->width, meta->height,
              meta->num_classes);
  for (guint c = 0; c < meta->num_classes; ++c) {
    const guint8* rgb = meta->class_colors + 3 * c;
    std::printf("  %2u %-12s #%02x%02x%02x %8llu px %6.2f %%\n", c, meta->class_names[c], rgb[0], rgb[1], rgb[2],
                static_cast<unsigned long long>(counts[c]), n ? 100.0 * counts[c] / n : 0.0);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  Options o;
  if (!parse(argc, argv, o)) {
    usage(argv[0]);
    return 2;
  }

  gchar* model = g_strescape(o.model.c_str(), nullptr);
  gchar* source = nullptr;
  if (o.input.empty()) {
    source = g_strdup("videotestsrc pattern=smpte");
  } else {
    gchar* loc = g_strescape(o.input.c_str(), nullptr);
    source = g_strdup_printf("filesrc location=\"%s\" ! decodebin", loc);
    g_free(loc);
  }
  // mode=mask keeps the output small; the meta is the same in overlay mode.
  gchar* desc = g_strdup_printf(
      "%s ! videoconvert ! videoscale ! video/x-raw,format=RGB,width=%d,height=%d ! "
      "i2sbseg name=seg model=\"%s\" mode=mask ot-ode=true ! appsink name=sink sync=false max-buffers=2",
      source, o.width, o.height, model);
  g_free(model);
  g_free(source);

  // Say plainly when the plugin is not found: the usual cause is an
  // uninstalled build (set GST_PLUGIN_PATH or use `meson devenv`).
  if (GstElementFactory* f = gst_element_factory_find("i2sbseg")) {
    gst_object_unref(f);
  } else {
    std::fprintf(stderr,
                 "appsink_classmap: no 'i2sbseg' element: install the plugin or set "
                 "GST_PLUGIN_PATH=<builddir>/gst-plugin\n");
    g_free(desc);
    return 1;
  }
  // A partial pipeline with an error set (e.g. a missing element) is a failure too.
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(desc, &err);
  g_free(desc);
  if (!pipeline || err) {
    std::fprintf(stderr, "appsink_classmap: cannot build the pipeline: %s\n", err ? err->message : "?");
    g_clear_error(&err);
    if (pipeline) gst_object_unref(pipeline);
    return 1;
  }
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");

  int status = 0;
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    if (!report_bus_errors(pipeline)) std::fprintf(stderr, "appsink_classmap: the pipeline failed to start\n");
    status = 1;
  }
  for (int f = 0; status == 0 && f < o.frames; ++f) {
    GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 60 * GST_SECOND);
    if (!sample) {
      if (!report_bus_errors(pipeline))
        std::fprintf(stderr, "appsink_classmap: no sample %d (end of stream or timeout)\n", f);
      status = f == 0 ? 1 : status;  // a short file is fine once a frame came
      break;
    }
    if (!print_class_shares(gst_sample_get_buffer(sample), f)) status = 1;
    gst_sample_unref(sample);
  }

  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  return status;
}
