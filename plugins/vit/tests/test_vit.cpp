#include <cstdlib>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <panoramia/testing.hpp>

#include "model_state.hpp"
#include "pretrained.hpp"
#include "vision_transformer.hpp"
#include "vit_target.hpp"

namespace panoramia::vit {
namespace {

using ::testing::HasSubstr;

std::int64_t parameters_of(const std::string& preset) {
  auto o = vit_preset(preset);
  return image::count_parameters(*VisionTransformer(o));
}

// Published sizes at 224 px with a 1000-way head: torchvision's vit_b_16 86,567,656; the
// ViT-S/16 and ViT-Ti/16 of DeiT/timm 22,050,664 and 5,717,416.
TEST(VisionTransformer, ParameterCountsMatchThePublishedOnes) {
  EXPECT_EQ(parameters_of("tiny"), 5717416);
  EXPECT_EQ(parameters_of("small"), 22050664);
  EXPECT_EQ(parameters_of("base"), 86567656);
}

VitOptions toy(std::int64_t classes = 3) {
  VitOptions o;
  o.image_size = 16;
  o.patch = 4;
  o.width = 32;
  o.depth = 2;
  o.heads = 4;
  o.classes = classes;
  return o;
}

TEST(VisionTransformer, TorchvisionNamesAndShapes) {
  VisionTransformer net(toy());
  const auto params = net->named_parameters();
  for (const char* name :
       {"class_token", "conv_proj.weight", "encoder.pos_embedding",
        "encoder.layers.encoder_layer_1.self_attention.in_proj_weight",
        "encoder.layers.encoder_layer_1.self_attention.out_proj.bias",
        "encoder.layers.encoder_layer_0.mlp.0.weight", "encoder.layers.encoder_layer_0.mlp.3.bias",
        "encoder.layers.encoder_layer_0.ln_2.weight", "encoder.ln.bias", "heads.head.weight"})
    EXPECT_TRUE(params.contains(name)) << name;
  EXPECT_EQ(params["encoder.pos_embedding"].sizes(), (std::vector<int64_t>{1, 17, 32}));
  // Grey 8x8 images are repeated to RGB and resized to 16x16.
  EXPECT_EQ(net->forward(torch::rand({2, 1, 8, 8})).sizes(), (std::vector<int64_t>{2, 3}));
}

TEST(Pretrained, LoadsByNameReplacesTheHeadAndResizesPositions) {
  testing::TestContext ctx({}, {}, 7);
  VisionTransformer source(toy(10));
  source->reset_parameters(ctx.generator());
  {
    torch::NoGradGuard guard;
    for (auto& p : source->parameters())
      p.add_(torch::randn(p.sizes(), ctx.generator(), torch::kFloat32));
  }
  const auto file = ctx.work_dir() / "vit.pth";
  write_state_dict(file, *source);

  auto o = toy(3);
  o.image_size = 24;  // a 6x6 grid instead of 4x4
  VisionTransformer target(o);
  const auto report = load_state_dict(*target, read_state_dict(file), true, file.string());
  EXPECT_TRUE(report.head_replaced);
  EXPECT_TRUE(report.positions_resized);
  EXPECT_TRUE(torch::equal(target->named_parameters()["conv_proj.weight"],
                           source->named_parameters()["conv_proj.weight"]));
  EXPECT_TRUE(torch::equal(target->named_parameters()["encoder.pos_embedding"][0][0],
                           source->named_parameters()["encoder.pos_embedding"][0][0]));

  VisionTransformer same_head(toy(3));
  try {
    load_state_dict(*same_head, read_state_dict(file), false, file.string());
    FAIL() << "a 10-way head loaded into a 3-way network";
  } catch (const std::exception& e) {
    EXPECT_THAT(e.what(), HasSubstr("'heads.head.weight' of shape [10, 32]"));
  }
  auto deeper = toy(3);
  deeper.depth = 3;
  VisionTransformer missing(deeper);
  EXPECT_THROW(load_state_dict(*missing, read_state_dict(file), true, file.string()),
               std::runtime_error);
}

// A state dict written by Python's torch.save (Debian's python3-torch) with torchvision's
// pre-0.13 MLP names.
TEST(Pretrained, ReadsAPythonTorchSaveFile) {
  testing::TestContext ctx({}, {}, 7);
  const auto file = ctx.work_dir() / "py.pth";
  const auto script = ctx.work_dir() / "make.py";
  std::ofstream(script) << "import collections, sys, torch\n"
                           "d = collections.OrderedDict()\n"
                           "d['encoder.layers.encoder_layer_0.mlp.linear_1.weight'] = "
                           "torch.arange(6.).reshape(2, 3)\n"
                           "d['heads.head.bias'] = torch.ones(4)\n"
                           "torch.save(d, sys.argv[1])\n";
  // Also a dict nested under "model", a half-precision tensor and a non-contiguous view.
  std::ofstream(script, std::ios::app)
      << "w = torch.arange(12.).reshape(3, 4)\n"
         "torch.save({'model': collections.OrderedDict([('a', w.t()), ('b', w.half()[1])])}, "
         "sys.argv[1] + '.wrapped')\n"
         // An empty tensor: a zero-byte storage record (fuzz_torch_save: copied from null).
         "torch.save({'e': torch.zeros(0)}, sys.argv[1] + '.zero')\n";
  const std::string command =
      "/usr/bin/python3 " + script.string() + " " + file.string() + " > /dev/null 2>&1";
  // scripts/install-deps installs python3-torch: a missing one is a failure, not a skip.
  ASSERT_EQ(std::system(command.c_str()), 0)
      << "python3 could not write the torch.save file (is python3-torch installed?)";
  const auto dict = read_state_dict(file);
  ASSERT_EQ(dict.size(), 2u);
  EXPECT_TRUE(torch::equal(dict.at("encoder.layers.encoder_layer_0.mlp.linear_1.weight"),
                           torch::arange(6.0).reshape({2, 3}).to(torch::kFloat32)));
  const auto wrapped = read_state_dict(file.string() + ".wrapped");
  const auto w = torch::arange(12.0).reshape({3, 4}).to(torch::kFloat32);
  EXPECT_TRUE(torch::equal(wrapped.at("a"), w.t()));
  EXPECT_TRUE(torch::equal(wrapped.at("b"), w[1].to(torch::kHalf)));
  const auto zero = read_state_dict(file.string() + ".zero");
  ASSERT_EQ(zero.count("e"), 1u);
  EXPECT_EQ(zero.at("e").numel(), 0);
}

// Hostile pickles inside a real torch.save archive (issue 15, finding 2: each used to crash the
// process): a memo store on an empty stack, a dict that holds itself, and 200,000 nested lists.
// Each is one sentence naming the file.
TEST(Pretrained, HostilePicklesAreRefusedInOneSentence) {
  testing::TestContext ctx({}, {}, 7);
  const auto dir = ctx.work_dir();
  const auto script = dir / "hostile.py";
  std::ofstream(script)
      << "import io, sys, torch, zipfile\n"
         "base = sys.argv[1]\n"
         "torch.save({}, base + '.empty')\n"
         "def with_pickle(name, data):\n"
         "    src = zipfile.ZipFile(base + '.empty')\n"
         "    out = zipfile.ZipFile(base + '.' + name, 'w', zipfile.ZIP_STORED)\n"
         "    for info in src.infolist():\n"
         "        body = data if info.filename.endswith('/data.pkl') else src.read(info)\n"
         "        out.writestr(info.filename, body)\n"
         "    out.close()\n"
         "with_pickle('memo', b'\\x80\\x02q\\x00.')\n"
         "with_pickle('self', b'\\x80\\x02}q\\x00X\\x01\\x00\\x00\\x00ah\\x00s.')\n"
         "with_pickle('deep', b'\\x80\\x02' + b']' * 200000 + b'a' * 199999 + b'.')\n"
         // A 9-byte LONG1 integer (fuzz_torch_save: shifted past 64 bits).
         "with_pickle('long', b'\\x80\\x02\\x8a\\x09' + b'\\x01' * 9 + b'.')\n"
         // A directory entry claiming a 4 GB record (LibTorch's reader allocated it), and records
         // compressed, which torch.save never writes.
         "raw = bytearray(open(base + '.empty', 'rb').read())\n"
         "at = raw.index(b'PK\\x01\\x02')\n"
         "raw[at + 24:at + 28] = (0xfffffff0).to_bytes(4, 'little')\n"
         "open(base + '.huge', 'wb').write(raw)\n"
         "src = zipfile.ZipFile(base + '.empty')\n"
         "out = zipfile.ZipFile(base + '.deflated', 'w', zipfile.ZIP_DEFLATED)\n"
         "for info in src.infolist():\n"
         "    out.writestr(info.filename, src.read(info))\n"
         "out.close()\n"
         "open(base + '.cut', 'wb').write(open(base + '.empty', 'rb').read()[:-30])\n";
  const auto base = dir / "h.pth";
  const std::string command =
      "/usr/bin/python3 " + script.string() + " " + base.string() + " > /dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << "python3 could not write the archives";
  const auto message = [&](const std::string& name) {
    return testing::message_of([&] { read_state_dict(base.string() + "." + name); });
  };
  EXPECT_THAT(message("memo"), ::testing::HasSubstr("the pickle works on an empty stack"));
  EXPECT_THAT(message("self"), ::testing::HasSubstr("the pickle puts a container inside itself"));
  EXPECT_THAT(message("deep"), ::testing::HasSubstr("nests containers more than 256 deep"));
  EXPECT_THAT(message("deep"), ::testing::HasSubstr(base.string() + ".deep"));
  EXPECT_THAT(message("long"), ::testing::HasSubstr("of 9 bytes does not fit 64 bits"));
  EXPECT_THAT(message("huge"), ::testing::HasSubstr("claims 4294967280 bytes but stores"));
  EXPECT_THAT(message("huge"), ::testing::HasSubstr(base.string() + ".huge"));
  EXPECT_THAT(message("deflated"), ::testing::HasSubstr("is compressed (method 8)"));
  EXPECT_THAT(message("cut"), ::testing::HasSubstr(base.string() + ".cut"));
}

Batch stripes(std::int64_t n, std::uint64_t seed) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
  Batch b;
  b.y = torch::randint(0, 2, {n}, g, torch::kInt64);
  b.x = torch::rand({n, 1, 16, 16}, g) * 0.3;
  for (std::int64_t i = 0; i < n; ++i) {
    if (b.y[i].item<int64_t>() == 0)
      b.x[i].narrow(1, 4, 4).add_(0.6);  // horizontal band
    else
      b.x[i].narrow(2, 4, 4).add_(0.6);  // vertical band
  }
  b.modality = "image";
  return b;
}

TEST(VitTarget, TrainsFromScratchAndFineTunesAFrozenBackbone) {
  std::map<std::string, std::string> options{
      {"preset", "tiny"}, {"patch", "4"},        {"width", "32"},         {"depth", "2"},
      {"heads", "4"},     {"epochs", "12"},      {"batch_size", "16"},    {"lr", "0.003"},
      {"flip", "false"},  {"crop_padding", "0"}, {"schedule", "constant"}};
  testing::TestContext ctx(vit_options(), options, 7);
  VitTarget scratch;
  const auto train = stripes(96, 1), validation = stripes(48, 2);
  scratch.fit(train, validation, ctx);
  const auto signals = scratch.side_signals(validation, "best", ctx);
  EXPECT_GT(image::accuracy(signals.logits, validation.y), 0.9);

  // Fine-tune: start from the trained network's state dict with a new head, backbone frozen.
  const auto file = ctx.work_dir() / "scratch.pth";
  write_state_dict(file, *scratch.network());
  options["pretrained"] = file.string();
  options["image_size"] = "16";
  options["freeze_backbone"] = "true";
  options["epochs"] = "4";
  testing::TestContext tune_ctx(vit_options(), options, 7);
  VitTarget tuned;
  tuned.fit(train, validation, tune_ctx);
  EXPECT_EQ(image::count_parameters(*tuned.network(), true), 32 * 2 + 2);  // the head only
  const auto before = scratch.network()->named_parameters();
  const auto after = tuned.network()->named_parameters();
  for (const auto& p : before) {
    if (p.key().rfind("heads.", 0) == 0) continue;
    EXPECT_TRUE(torch::equal(p.value(), after[p.key()])) << p.key();  // loaded, then frozen
  }
  EXPECT_GT(after["heads.head.weight"].abs().sum().item<float>(), 0.0f);  // trained from zero
  EXPECT_GT(image::accuracy(tuned.side_signals(validation, "final", tune_ctx).logits, validation.y),
            0.9);
}

}  // namespace
}  // namespace panoramia::vit
