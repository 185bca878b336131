// SPDX-License-Identifier: MIT
// The inference shortcuts against the plain paths they replace: the split
// bridge input convolution, noise drawn ahead (CUDA graphs), reduced
// precision, and the fused argmax + overlay of the Segmenter.
#include <gtest/gtest.h>

#include <random>

#include <torch/torch.h>

#include <i2sbseg/bridge.h>
#include <i2sbseg/device.h>
#include <i2sbseg/error.h>
#include <i2sbseg/model.h>
#include <i2sbseg/networks.h>
#include <i2sbseg/segmenter.h>

#include "../common/small_model.h"
#include "../common/temp_dir.h"

using namespace i2sbseg;
using i2sbseg::testing::randomise;
using i2sbseg::testing::small_config;
using i2sbseg::testing::TempDir;

TEST(Inference, ConditionedBridgeEqualsTheFullInputConvolution) {
  for (BridgeType type : {BridgeType::kGroupNorm, BridgeType::kConvBn}) {
    BridgeNet net = make_bridge_net(4, BridgeArch{8, 2, 8, type});
    net->eval();  // conv_bn: BatchNorm from its running statistics
    torch::manual_seed(3);
    torch::NoGradGuard g;
    for (auto& p : net->parameters()) p.copy_(torch::randn_like(p) * 0.3);
    const torch::Tensor zt = torch::randn({2, 4, 5, 7}), zlr = torch::randn({2, 4, 5, 7});
    const torch::Tensor t = torch::tensor({10.0f, 700.0f});
    const torch::Tensor full = net->forward(zt, zlr, t);
    const torch::Tensor split = net->forward_conditioned(zt, net->condition(zlr), t);
    ASSERT_GT(full.abs().max().item<float>(), 0.1f) << to_string(type);
    EXPECT_LT((full - split).abs().max().item<float>(), 1e-4f) << to_string(type);
  }
}

TEST(Inference, NoiseDrawnAheadGivesTheSameWalkAsTheSampler) {
  const Bridge b(Schedule::make({}));
  torch::manual_seed(4);
  const torch::Tensor x1 = torch::randn({1, 3, 4, 4}), x0 = torch::randn({1, 3, 4, 4});
  const auto oracle = [&](const torch::Tensor& xt, int) { return 0.5 * xt + 0.5 * x0; };
  for (int nfe : {1, 2, 4, 10}) {
    at::Generator g1 = make_generator(11), g2 = make_generator(11);
    const torch::Tensor a = b.sample(x1, nfe, oracle, false, &g1);
    const auto noise = b.draw_noise(x1, nfe, &g2);
    EXPECT_EQ(static_cast<int>(noise.size()), nfe - 1) << "the last step adds no noise";
    const torch::Tensor c = b.sample_with_noise(x1, nfe, oracle, noise);
    EXPECT_TRUE(torch::equal(a, c)) << "nfe " << nfe;
    // No noise given: the OT-ODE.
    EXPECT_TRUE(torch::equal(b.sample(x1, nfe, oracle, true), b.sample_with_noise(x1, nfe, oracle, {})));
  }
}

TEST(Inference, ModelWithNoiseOptionMatchesTheSeededPath) {
  Model m(small_config());
  randomise(m, 5);
  m.eval();
  torch::NoGradGuard g;
  const torch::Tensor lr = torch::rand({1, 3, 6, 5});
  at::Generator g1 = make_generator(9), g2 = make_generator(9);
  SampleOptions a;
  a.generator = &g1;
  const torch::Tensor ref = m.segment_lr(lr, a);
  const auto noise = m.bridge().draw_noise(torch::empty(m.latent_shape(1, 24, 20)), 3, &g2);
  SampleOptions b;
  b.noise = &noise;
  EXPECT_TRUE(torch::allclose(ref, m.segment_lr(lr, b), 1e-5, 1e-6));
}

TEST(Inference, ReducedPrecisionRunsOrIsRefusedClearly) {
  Model m(small_config());
  randomise(m, 6);
  m.eval();
  torch::NoGradGuard g;
  const torch::Tensor lr = torch::rand({1, 3, 8, 8});
  SampleOptions o;
  o.ot_ode = true;
  const torch::Tensor ref = m.segment_lr(lr, o).argmax(1);
  for (auto [dtype, name] : {std::pair{torch::kBFloat16, "bf16"}, std::pair{torch::kHalf, "fp16"}}) {
    try {
      m.set_precision(dtype);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
      EXPECT_EQ(m.precision(), torch::kFloat32) << "a refused precision leaves the model in fp32";
      continue;
    }
    EXPECT_EQ(m.precision(), dtype);
    const torch::Tensor logits = m.segment_lr(lr, o);
    EXPECT_EQ(logits.scalar_type(), torch::kFloat32) << "outputs stay float32";
    const double agree = (logits.argmax(1) == ref).to(torch::kFloat64).mean().item<double>();
    EXPECT_GT(agree, 0.9) << name;
    // Back to fp32: the weights keep the reduced precision's rounding (a
    // cast, not a reload), so the maps are close, not equal.
    m.set_precision(torch::kFloat32);
    const double back = (m.segment_lr(lr, o).argmax(1) == ref).to(torch::kFloat64).mean().item<double>();
    EXPECT_GT(back, 0.99) << name;
  }
  // A refused precision (fp16 on Debian's CPU LibTorch) leaves the weights
  // exactly as they were.
  int refused = 0;
  for (torch::ScalarType dtype : {torch::kBFloat16, torch::kHalf}) {
    Model fresh(small_config());
    randomise(fresh, 6);
    fresh.eval();
    const torch::Tensor fresh_ref = fresh.segment_lr(lr, o);
    try {
      fresh.set_precision(dtype);
    } catch (const Error&) {
      ++refused;
      EXPECT_TRUE(torch::equal(fresh.segment_lr(lr, o), fresh_ref)) << "refused " << dtype;
    }
  }
  std::printf("precisions refused on this device: %d\n", refused);
}

TEST(Inference, FusedOverlayEqualsSegmentThenDraw) {
  TempDir dir;
  Model m(small_config());
  randomise(m, 7);
  const std::string path = dir.file("m.i2sb");
  save_model(m, path);
  auto seg = Segmenter::open(path, {"cpu", Precision::kFp32});
  EXPECT_EQ(seg->precision(), Precision::kFp32);
  EXPECT_EQ(precision_from_name("bf16"), Precision::kBf16);
  try {
    precision_from_name("fp64");
    ADD_FAILURE() << "fp64 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidOption);
    EXPECT_EQ(e.field(), "precision");
    EXPECT_NE(std::string(e.what()).find("fp64"), std::string::npos) << e.what();
  }

  const int w = 13, h = 7;
  std::mt19937 rng(1);
  for (const PixelLayout layout : {PixelLayout{3, 0, 1, 2}, PixelLayout{4, 2, 1, 0}}) {
    const int stride = w * layout.bytes_per_pixel + 5;  // padded rows
    std::vector<std::uint8_t> frame(static_cast<size_t>(stride) * h);
    for (auto& v : frame) v = static_cast<std::uint8_t>(rng());
    for (OutputSize size : {OutputSize::kScaled, OutputSize::kInput})
      for (Upscale up : {Upscale::kNearest, Upscale::kBilinear}) {
        SegmentParams p;
        p.output_size = size;
        p.seed = 3;
        int ow, oh, ew, eh;
        seg->output_size(w, h, size, ew, eh);
        const int dst_stride = ew * layout.bytes_per_pixel + 3;
        std::vector<std::uint8_t> map1, map2, fused(static_cast<size_t>(dst_stride) * eh, 0),
            drawn(fused.size(), 0);
        const OverlayTarget target{fused.data(), dst_stride, 0.4f, up};
        seg->segment(frame.data(), w, h, stride, layout, p, map1, ow, oh, &target);
        ASSERT_EQ(ow, ew);
        ASSERT_EQ(oh, eh);
        seg->segment(frame.data(), w, h, stride, layout, p, map2, ow, oh);
        EXPECT_EQ(map1, map2);
        seg->draw_overlay(map2.data(), ow, oh, frame.data(), w, h, stride, layout, 0.4f, drawn.data(), dst_stride, up);
        EXPECT_EQ(fused, drawn);
        // Every class present in the map is one the model has.
        for (auto c : map1) ASSERT_LT(c, 4);
      }
  }
}

// Malformed or unusable devices are option errors on the "device" field,
// whether given to parse_device or to Segmenter::open.
TEST(Inference, BadDevicesAreOptionErrorsNamingTheDevice) {
  std::vector<std::string> bad{"gpu", "cuda:", "cuda:x", "cuda:1234", "CPU"};
  if (!torch::cuda::is_available()) bad.push_back("cuda");  // no usable GPU here
  for (const std::string& name : bad) {
    try {
      parse_device(name);
      ADD_FAILURE() << name << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidOption) << name;
      EXPECT_EQ(e.field(), "device") << name;
      EXPECT_NE(std::string(e.what()).find("'" + name + "'"), std::string::npos) << e.what();
    }
  }
  TempDir dir;
  save_model(Model(small_config()), dir.file("m.i2sb"));
  try {
    Segmenter::open(dir.file("m.i2sb"), {"gpu"});
    ADD_FAILURE() << "device gpu accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "device");
  }
  EXPECT_EQ(parse_device("cpu"), torch::Device(torch::kCPU));
}

// One parser: names as written become typed values without looking for a
// GPU; resolving gives "auto" its one meaning (LibTorch can use a GPU), and
// a Segmenter reports the device it resolved to, typed.
TEST(Inference, DeviceNamesParseToTypedValuesAndAutoMeansWhatLibTorchSees) {
  using Kind = DeviceId::Kind;
  EXPECT_TRUE(parse_device_request("auto").is_auto);
  EXPECT_EQ(parse_device_request("cpu").device, (DeviceId{Kind::kCpu, -1}));
  EXPECT_EQ(parse_device_request("cuda").device, (DeviceId{Kind::kCuda, 0}));
  EXPECT_EQ(parse_device_request("cuda:12").device, (DeviceId{Kind::kCuda, 12}));
  EXPECT_FALSE(parse_device_request("cuda:12").is_auto);
  EXPECT_EQ((DeviceId{Kind::kCuda, 3}).name(), "cuda:3");
  EXPECT_EQ((DeviceId{Kind::kCuda, 3}).cuda_index(), 3);
  EXPECT_EQ(DeviceId{}.name(), "cpu");
  EXPECT_EQ(DeviceId{}.cuda_index(), -1);
  for (const char* bad : {"gpu", "cuda:", "cuda:x", "cuda:1234", "CPU", ""}) {
    try {
      parse_device_request(bad);
      ADD_FAILURE() << bad << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.field(), "device") << bad;
    }
  }
  const DeviceId resolved = resolve_device("auto");
  EXPECT_EQ(resolved.is_cuda(), torch::cuda::is_available());
  EXPECT_EQ(to_torch(resolved), parse_device("auto"));
  EXPECT_EQ(device_id_of(torch::Device(torch::kCUDA, 2)), (DeviceId{Kind::kCuda, 2}));
  TempDir dir;
  save_model(Model(small_config()), dir.file("m.i2sb"));
  EXPECT_EQ(Segmenter::open(dir.file("m.i2sb"), {"auto"})->device(), resolved);
  EXPECT_EQ(Segmenter::open(dir.file("m.i2sb"), {"cpu"})->device(), DeviceId{});
}

// open() changes no process-wide state unless asked, and segment() with NFE 0
// runs the model's default NFE (resolved once, by the model).
TEST(Inference, SegmenterDefaultsLeaveTheProcessAloneAndUseTheDefaultNfe) {
  TempDir dir;
  Model m(small_config());
  randomise(m, 8);
  save_model(m, dir.file("m.i2sb"));
  const bool cudnn_before = at::globalContext().benchmarkCuDNN();
  auto seg = Segmenter::open(dir.file("m.i2sb"), {"cpu", Precision::kFp32});
  EXPECT_EQ(at::globalContext().benchmarkCuDNN(), cudnn_before);

  const int w = 6, h = 5;
  std::vector<std::uint8_t> frame(w * h * 3);
  std::mt19937 rng(2);
  for (auto& v : frame) v = static_cast<std::uint8_t>(rng());
  auto classes = [&](int nfe) {
    SegmentParams p;
    p.nfe = nfe;
    p.seed = 4;
    std::vector<std::uint8_t> map;
    int ow, oh;
    seg->segment(frame.data(), w, h, w * 3, {3, 0, 1, 2}, p, map, ow, oh);
    return map;
  };
  ASSERT_EQ(seg->default_nfe(), 3);
  const std::vector<std::uint8_t> by_default = classes(0);
  EXPECT_EQ(by_default, classes(3));
  // The bridge acts: a different NFE gives a different map somewhere.
  bool differs = false;
  for (int nfe : {1, 2, 6}) differs |= classes(nfe) != by_default;
  EXPECT_TRUE(differs);
  EXPECT_THROW(classes(1000), Error) << "NFE must stay below the schedule's steps";
}
