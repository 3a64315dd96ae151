// The `text` reader and featurizer, the `gpt2` target (checkpoint variants, side signals,
// save/load, Hugging Face directories) and the `gpt2` generator (prompted sampling, re-tokenisation
// filter, inspection file, determinism, save/load), on tiny models and data made here.
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <panoramia/testing.hpp>

#include "checkpoint.hpp"
#include "gpt2_generator.hpp"
#include "gpt2_target.hpp"
#include "small_config.hpp"
#include "text_blocks.hpp"
#include "text_reader.hpp"
#include "tokenizer.hpp"

namespace panoramia::gpt2 {
namespace {

namespace fs = std::filesystem;
using panoramia::testing::message_of;
using panoramia::testing::TestContext;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class TextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("gpt2-text-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return dir_ / name;
  }
  fs::path dir_;
};

std::string article(const std::string& title, int sentences) {
  std::string s = " = " + title + " = \n\n";
  for (int i = 0; i < sentences; ++i)
    s += " The " + title + " entry number " + std::to_string(i) + " was written in 19" +
         std::to_string(10 + i % 90) + " . \n";
  return s + "\n = = Notes = = \n\n Nothing more about " + title + " . \n\n";
}

TEST_F(TextTest, WikitextDocumentsFilterAndBlocks) {
  const std::string text = article("Alpha", 30) + article("Beta", 2) + article("Gamma", 25);
  const auto docs = split_documents(text, "wikitext");
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[1].substr(0, 10), " = Beta = ");
  EXPECT_EQ(split_documents("a\n\n\nb\nc\n \nd", "paragraphs").size(), 3u);

  const auto path = write("wiki.train.raw", text);
  TestContext ctx(TextReader::option_specs(), {{"path", path.string()},
                                               {"tokenizer", kData.string()},
                                               {"block_size", "16"},
                                               {"documents", "wikitext"},
                                               {"min_document_tokens", "100"},
                                               {"max_document_tokens", "200"},
                                               {"shuffle", "false"}});
  const auto batch = TextReader(kData).read(ctx);
  const auto tok = Tokenizer::load(kData);
  auto expected = tok.encode(docs[0]);
  expected.resize(200);
  auto gamma = tok.encode(docs[2]);
  gamma.resize(200);
  expected.insert(expected.end(), gamma.begin(), gamma.end());  // Beta is too short: filtered
  expected.resize(400 / 16 * 16);
  EXPECT_EQ(batch.modality, "text");
  EXPECT_FALSE(batch.y.defined());
  ASSERT_EQ(batch.x.sizes(), (std::vector<std::int64_t>{25, 16}));
  EXPECT_TRUE(torch::equal(batch.x.reshape({-1}), torch::tensor(expected, torch::kInt64)));

  // Shuffled: the same blocks in a seeded order.
  TestContext shuffled(TextReader::option_specs(),
                       {{"path", path.string()},
                        {"tokenizer", kData.string()},
                        {"block_size", "16"},
                        {"documents", "wikitext"},
                        {"min_document_tokens", "100"},
                        {"max_document_tokens", "200"}},
                       7);
  const auto a = TextReader(kData).read(shuffled).x;
  EXPECT_FALSE(torch::equal(a, batch.x));
  EXPECT_TRUE(torch::equal(std::get<0>(a.sum(1).sort()), std::get<0>(batch.x.sum(1).sort())));
  TestContext again(shuffled.options().specs(), shuffled.options().values(), 7);
  EXPECT_TRUE(torch::equal(TextReader(kData).read(again).x, a));
}

TEST_F(TextTest, ThePreviewDecodesTheFirstEightBlocks) {
  const auto path = write("wiki.train.raw", article("Alpha", 30));
  TestContext ctx(TextReader::option_specs(), {{"path", path.string()},
                                               {"tokenizer", kData.string()},
                                               {"block_size", "16"},
                                               {"documents", "paragraphs"},
                                               {"shuffle", "false"}});
  TextReader reader(kData);
  const auto batch = reader.read(ctx);
  ASSERT_GT(batch.size(), 8);
  const Preview preview = reader.preview(batch, ctx);
  ASSERT_EQ(preview.texts.size(), kPreviewSamples);
  // Decoding is exact (tokenizer.hpp) and the paragraphs cover the text without a gap (no
  // length filter here), so the eight blocks put together are the first 8 x 16 tokens' text: a
  // prefix of the file, and the first text is the first block.
  std::string joined;
  for (const auto& text : preview.texts) joined += text;
  const std::string text = article("Alpha", 30);
  EXPECT_GE(joined.size(), 8u * 16u);  // every GPT-2 token is at least one byte
  EXPECT_EQ(text.substr(0, joined.size()), joined);
  std::vector<std::int64_t> block(batch.x.data_ptr<std::int64_t>(),
                                  batch.x.data_ptr<std::int64_t>() + 16);
  EXPECT_EQ(preview.texts[0], Tokenizer::load(kData).decode(block));
  EXPECT_TRUE(preview.png.empty() && preview.rows.empty());
}

TEST_F(TextTest, ReaderErrorsNameTheFile) {
  const auto bad = write("bad.txt", "line one\nline two \xC3\x28 here\n");
  EXPECT_THAT(message_of([&] { read_utf8_file(bad); }),
              HasSubstr(bad.string() + ":2: invalid UTF-8 at byte offset 18"));
  EXPECT_THAT(message_of([&] { read_utf8_file(dir_ / "missing.raw"); }),
              HasSubstr("cannot open the text file " + (dir_ / "missing.raw").string()));
  const auto tiny = write("tiny.txt", "Too short.");
  TestContext ctx(TextReader::option_specs(),
                  {{"path", tiny.string()}, {"tokenizer", kData.string()}});
  EXPECT_THAT(message_of([&] { TextReader(kData).read(ctx); }),
              AllOf(HasSubstr(tiny.string() + " gives 3 tokens"), HasSubstr("block of 64")));
  TestContext no_vocab(TextReader::option_specs(),
                       {{"path", tiny.string()}, {"tokenizer", dir_.string()}});
  EXPECT_THAT(message_of([&] { TextReader(kData).read(no_vocab); }),
              HasSubstr("no GPT-2 tokenizer in " + dir_.string()));
}

TEST(TextFeaturizer, LossVectorMeanAndSort) {
  Batch samples;
  samples.x = torch::zeros({2, 4}, torch::kInt64);
  SideSignals side;
  side.loss_vector = torch::tensor({{3.0f, 1.0f, 2.0f}, {0.0f, 0.0f, 6.0f}});
  side.loss = side.loss_vector.mean(1);
  TestContext ctx(TextFeaturizer::option_specs());
  const auto f = TextFeaturizer().featurize(samples, side, ctx);
  EXPECT_TRUE(
      torch::allclose(f, torch::tensor({{3.0f, 1.0f, 2.0f, 2.0f}, {0.0f, 0.0f, 6.0f, 2.0f}})));
  TestContext sorted(TextFeaturizer::option_specs(), {{"sort", "true"}, {"mean", "false"}});
  EXPECT_TRUE(torch::equal(TextFeaturizer().featurize(samples, side, sorted),
                           torch::tensor({{1.0f, 2.0f, 3.0f}, {0.0f, 0.0f, 6.0f}})));
  side.loss_vector = at::Tensor();
  EXPECT_THAT(message_of([&] { TextFeaturizer().featurize(samples, side, ctx); }),
              HasSubstr("needs the side model's per-token losses"));
}

Batch repeated_blocks(std::int64_t n, std::int64_t t, std::int64_t vocab, std::uint64_t seed) {
  // A few distinct sequences, repeated: a tiny model learns them within a few epochs.
  const auto base =
      torch::randint(0, vocab, {4, t}, at::make_generator<at::CPUGeneratorImpl>(seed));
  Batch b;
  b.x = base.repeat({(n + 3) / 4, 1}).slice(0, 0, n).contiguous();
  b.modality = "text";
  return b;
}

std::map<std::string, std::string> tiny_model(const std::string& epochs) {
  return {{"preset", "tiny"},   {"width", "32"},  {"context", "32"},
          {"vocab_size", "64"}, {"dropout", "0"}, {"epochs", epochs},
          {"batch_size", "8"},  {"lr", "1e-2"},   {"warmup_steps", "2"}};
}

TEST_F(TextTest, TargetKeepsCheckpointVariantsAndScoresPerToken) {
  auto options = tiny_model("12");
  options["checkpoints"] = "1,12";
  options["keep_best"] = "true";
  TestContext ctx(Gpt2Target::option_specs(), options, 3);
  const auto train = repeated_blocks(32, 16, 64, 1);
  const auto validation = repeated_blocks(8, 16, 64, 2);
  Gpt2Target target;
  target.fit(train, validation, ctx);
  EXPECT_THAT(target.variants(), ElementsAre("best", "epoch1", "epoch12"));
  const auto early = target.side_signals(train, "epoch1", ctx);
  const auto late = target.side_signals(train, "epoch12", ctx);
  ASSERT_EQ(late.loss_vector.sizes(), (std::vector<std::int64_t>{32, 15}));
  ASSERT_EQ(late.loss.sizes(), (std::vector<std::int64_t>{32}));
  // Float32 means of 15 positive losses, possibly in another order: ≤ 2·15·u ≈ 2e-6 relative,
  // inside allclose's default rtol 1e-5; the mean of another row is off by ≥ 1e-2.
  EXPECT_TRUE(torch::allclose(late.loss, late.loss_vector.mean(1)));
  // Memorisation: the last checkpoint fits its training blocks much better than the first.
  EXPECT_LT(late.loss.mean().item<double>(), 0.7 * early.loss.mean().item<double>());
  EXPECT_THAT(message_of([&] { target.side_signals(train, "final", ctx); }),
              HasSubstr("unknown model variant 'final' (best, epoch1, epoch12)"));

  // Saved and loaded: the same variants and the same numbers; each variant is a Hugging Face dir.
  fs::create_directories(dir_ / "saved");
  target.save(dir_ / "saved", ctx);
  EXPECT_TRUE(is_pretrained_dir(dir_ / "saved" / "epoch12"));
  Gpt2Target loaded;
  TestContext ctx2(Gpt2Target::option_specs(), options, 4);
  loaded.load(dir_ / "saved", ctx2);
  EXPECT_EQ(loaded.variants(), target.variants());
  // The saved float32 weights load bit for bit and run through the same computation: equal on any
  // CPU (allclose's defaults only guard); a variant mixed up is off by ≥ 0.1.
  EXPECT_TRUE(
      torch::allclose(loaded.side_signals(train, "epoch12", ctx2).loss_vector, late.loss_vector));
  EXPECT_TRUE(
      torch::allclose(loaded.side_signals(train, "epoch1", ctx2).loss_vector, early.loss_vector));
  // A Hugging Face directory loads as the single variant "final".
  Gpt2Target hf;
  hf.load(dir_ / "saved" / "epoch12", ctx2);
  EXPECT_THAT(hf.variants(), ElementsAre("final"));
  EXPECT_TRUE(torch::allclose(hf.side_signals(train, "final", ctx2).loss, late.loss));
  EXPECT_THAT(message_of([&] { hf.load(dir_, ctx2); }),
              HasSubstr("no GPT-2 target in " + dir_.string()));

  // Deterministic: same options and seed, same losses.
  TestContext ctx3(Gpt2Target::option_specs(), options, 3);
  Gpt2Target again;
  again.fit(train, validation, ctx3);
  EXPECT_TRUE(
      torch::equal(again.side_signals(train, "epoch12", ctx3).loss_vector, late.loss_vector));
}

TEST_F(TextTest, TargetOptionErrors) {
  auto options = tiny_model("3");
  options["checkpoints"] = "2,5";
  TestContext ctx(Gpt2Target::option_specs(), options);
  Gpt2Target target;
  const auto train = repeated_blocks(8, 16, 64, 1);
  EXPECT_THAT(message_of([&] { target.fit(train, Batch{}, ctx); }),
              HasSubstr("option checkpoints: epoch 5 is not in 1..3"));
  options["checkpoints"] = "";
  options["vocab_size"] = "32";
  TestContext small(Gpt2Target::option_specs(), options);
  EXPECT_THAT(message_of([&] { target.fit(train, Batch{}, small); }),
              AllOf(HasSubstr("outside the model's vocabulary of 32"), HasSubstr("vocab_size")));
}

TEST_F(TextTest, GeneratorSamplesBlocksThatReTokeniseToTheBlockSize) {
  // Real text, GPT-2's vocabulary cut to 512 tokens, blocks of 12 tokens.
  TestContext reader_ctx(TextReader::option_specs(), {{"path", (kData / "corpus.txt").string()},
                                                      {"tokenizer", kData.string()},
                                                      {"vocab_size", "512"},
                                                      {"block_size", "12"}});
  const auto data = TextReader(kData).read(reader_ctx);
  auto options = tiny_model("2");
  options["vocab_size"] = "512";
  options["tokenizer"] = kData.string();
  options["returns_per_prompt"] = "4";
  options["sample_batch_size"] = "32";
  options["prompt_tokens"] = "4";
  TestContext ctx(Gpt2Generator::option_specs(), options, 5);
  Gpt2Generator generator(kData);
  generator.fit(data, ctx);
  const auto samples = generator.sample(40, ctx);
  EXPECT_EQ(samples.modality, "text");
  ASSERT_EQ(samples.x.sizes(), (std::vector<std::int64_t>{40, 12}));
  const auto tok = Tokenizer::load(kData, 512);
  for (std::int64_t i = 0; i < 40; ++i) {
    const auto row = samples.x[i].contiguous();
    const std::vector<std::int64_t> ids(row.data_ptr<std::int64_t>(),
                                        row.data_ptr<std::int64_t>() + 12);
    ASSERT_EQ(tok.encode(tok.decode(ids)), ids) << "sample " << i;
  }
  std::ifstream jsonl(ctx.work_dir() / "samples.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(jsonl, line)) {
    EXPECT_THAT(line, AllOf(HasSubstr("\"prompt\":"), HasSubstr("\"text\":")));
    ++lines;
  }
  EXPECT_EQ(lines, 40);

  // Sampling depends only on the context it is given; a saved and loaded generator samples the
  // same.
  fs::create_directories(dir_ / "gen");
  generator.save(dir_ / "gen", ctx);
  Gpt2Generator loaded(kData);
  TestContext ctx_a(Gpt2Generator::option_specs(), options, 9);
  TestContext ctx_b(Gpt2Generator::option_specs(), options, 9);
  loaded.load(dir_ / "gen", ctx_a);
  EXPECT_TRUE(torch::equal(loaded.sample(10, ctx_a).x, generator.sample(10, ctx_b).x));
}

}  // namespace
}  // namespace panoramia::gpt2
