// Configuration: every mistake is one sentence naming the file, the key and what was expected.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config.hpp"
#include "plugin_error.hpp"
#include "plugin_registry.hpp"
#include "support/run_panoramia.hpp"

namespace panoramia {
namespace {

using ::testing::HasSubstr;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.load_directory(testing::build_dir() / "lib" / "panoramia" / "plugins");
  }
  ResolvedConfig resolve_text(const std::string& text, const std::vector<std::string>& sets = {}) {
    testing::write_file(dir_ / "audit.ini", text);
    RawConfig raw = RawConfig::load(dir_ / "audit.ini");
    for (const auto& s : sets) raw.apply_override(s);
    return resolve(raw, registry_);
  }
  std::string error_of(const std::string& text, const std::vector<std::string>& sets = {}) {
    try {
      resolve_text(text, sets);
    } catch (const UserError& e) {
      return e.what();
    }
    return "no error";
  }
  std::string file() const { return (dir_ / "audit.ini").string(); }

  testing::TempDir dir_;
  PluginRegistry registry_;
};

TEST_F(ConfigTest, ResolvesTheToyConfigWithDefaults) {
  const auto config = resolve_text(testing::toy_config());
  EXPECT_EQ(config.section("target").plugin, "mlp");
  EXPECT_EQ(config.section("target").plugin_options.get_int("epochs"), 40);
  EXPECT_EQ(config.section("target").plugin_options.get_double("lr"), 0.001);  // default
  EXPECT_EQ(config.section("audit").host.get_string("threshold_mode"), "reference");
  EXPECT_EQ(config.section("split").host.get_double("target_fraction"), 0.8);
  // The full resolved config names every option, defaults included.
  EXPECT_THAT(config.to_ini(), HasSubstr("[target]\nload = \nplugin = mlp\n"));
  EXPECT_THAT(config.to_ini(), HasSubstr("lr = 0.001"));
}

TEST_F(ConfigTest, HelperDefaultsToTheTargetsPluginAndOptions) {
  std::string text = testing::toy_config();
  text.replace(text.find("[helper]"), text.find("[featurizer]") - text.find("[helper]"), "");
  const auto config = resolve_text(text);
  EXPECT_EQ(config.section("helper").plugin, "mlp");
  EXPECT_EQ(config.section("helper").plugin_options.get_int("epochs"), 40);
}

TEST_F(ConfigTest, OverridesWin) {
  const auto config = resolve_text(testing::toy_config(), {"target.epochs=7", "audit.seed=99"});
  EXPECT_EQ(config.section("target").plugin_options.get_int("epochs"), 7);
  EXPECT_EQ(config.section("audit").host.get_int("seed"), 99);
}

TEST_F(ConfigTest, UnknownKeySuggestsTheNearest) {
  EXPECT_EQ(error_of(testing::toy_config() + "epocs = 3\n"),
            file() +
                " [attack] epocs is not a known key of [attack] or of plugin "
                "'loss-threshold'; valid keys: plugin l2");
  EXPECT_EQ(error_of(testing::toy_config(), {"target.epoch=3"}),
            "--set target.epoch is not a known key of [target] or of plugin 'mlp'; did you mean "
            "'epochs'?");
}

TEST_F(ConfigTest, UnknownSectionSuggestsTheNearest) {
  EXPECT_EQ(error_of(testing::toy_config() + "[atack]\nplugin = mlp\n"),
            file() + ": unknown section [atack]; did you mean [attack]?");
}

TEST_F(ConfigTest, WrongTypeNamesTheKeyAndTheExpectedType) {
  EXPECT_EQ(error_of(testing::toy_config(), {"target.epochs=many"}),
            "--set target.epochs = 'many' is not valid: expected integer >= 0");
  EXPECT_EQ(error_of(testing::toy_config() + "\n[game]\nm = 1.5\n"),
            file() + " [game] m = '1.5' is not valid: expected integer >= 0");
  EXPECT_EQ(error_of(testing::toy_config(), {"audit.threshold_mode=some"}),
            "--set audit.threshold_mode = 'some' is not valid: expected one of reference, all");
}

TEST_F(ConfigTest, MissingSectionAndPlugin) {
  std::string text = testing::toy_config();
  text.replace(text.find("[featurizer]"), std::string("[featurizer]\nplugin = loss\n\n").size(),
               "");
  EXPECT_EQ(error_of(text), file() + ": section [featurizer] is missing");
  EXPECT_THAT(error_of(testing::toy_config(), {"attack.plugin=nothing"}),
              HasSubstr("--set attack.plugin: no attack plugin named 'nothing' is loaded"));
}

TEST_F(ConfigTest, SyntaxErrorsAndMissingFiles) {
  EXPECT_THROW(RawConfig::load(dir_ / "missing.ini"), UserError);
  testing::write_file(dir_ / "bad.ini", "[audit]\nseed 3\n");
  try {
    RawConfig::load(dir_ / "bad.ini");
    FAIL();
  } catch (const UserError& e) {
    EXPECT_THAT(e.what(), HasSubstr((dir_ / "bad.ini").string()));
  }
  testing::write_file(dir_ / "dup.ini", "[audit]\nseed = 3\nseed = 4\n");
  try {
    RawConfig::load(dir_ / "dup.ini");
    FAIL();
  } catch (const UserError& e) {
    EXPECT_EQ(std::string(e.what()), (dir_ / "dup.ini").string() + ": [audit] seed is given twice");
  }
  RawConfig raw;
  EXPECT_THROW(raw.apply_override("noequals"), UserError);
  EXPECT_THROW(raw.apply_override("nosection=3"), UserError);
}

// Values outside an option's declared range are refused when the config is resolved, before any
// stage runs, naming the key and the range (issue 15, finding 8: confidence 1.5 used to fail
// only after every stage had trained; threads 3e9, dropout 2 and lr nan reached LibTorch).
TEST_F(ConfigTest, ValuesOutsideTheirRangeAreRefusedNamingTheRange) {
  const std::string toy = testing::toy_config();
  EXPECT_EQ(error_of(toy, {"audit.confidence=1.5"}),
            "--set audit.confidence = '1.5' is not valid: expected number in (0, 1)");
  EXPECT_EQ(error_of(toy, {"audit.confidence=1"}),
            "--set audit.confidence = '1' is not valid: expected number in (0, 1)");
  for (const std::string bad : {"1.5", "-0.5", "nan", "1"})
    EXPECT_EQ(
        error_of(toy, {"helper.validation_fraction=" + bad}),
        "--set helper.validation_fraction = '" + bad + "' is not valid: expected number in [0, 1)");
  EXPECT_EQ(error_of(toy, {"audit.threads=3000000000"}),
            "--set audit.threads = '3000000000' is not valid: expected integer in [0, 4096]");
  EXPECT_EQ(error_of(toy, {"target.dropout=2"}),
            "--set target.dropout = '2' is not valid: expected number in [0, 1)");
  EXPECT_EQ(error_of(toy, {"target.lr=nan"}),
            "--set target.lr = 'nan' is not valid: expected number > 0");
  EXPECT_EQ(error_of(toy, {"target.batch_size=0"}),
            "--set target.batch_size = '0' is not valid: expected integer >= 1");
  EXPECT_EQ(error_of(toy, {"target.hidden=64,0"}),
            "--set target.hidden = '64,0' is not valid: expected comma-separated list of "
            "integers >= 1");
  EXPECT_EQ(error_of(toy, {"repeat.game_seeds=0"}),
            "--set repeat.game_seeds = '0' is not valid: expected integer in [1, 1000]");
  // The split's shares are (0, 1], as the split always accepted: 1 is all of it, 0 none.
  EXPECT_EQ(error_of(toy, {"split.target_fraction=0"}),
            "--set split.target_fraction = '0' is not valid: expected number in (0, 1]");
  EXPECT_NO_THROW(resolve_text(toy, {"split.generator_fraction=1"}));
  // In the file, the message names the file and the section.
  std::string in_file = toy;
  in_file.replace(in_file.find("batch_size = 16"), 15, "batch_size = -3");
  EXPECT_EQ(error_of(in_file),
            file() + " [target] batch_size = '-3' is not valid: expected integer >= 1");
  // Values inside the range, the ends included where they are closed, still resolve.
  EXPECT_NO_THROW(resolve_text(toy, {"helper.validation_fraction=0", "target.dropout=0",
                                     "audit.threads=4096", "repeat.game_seeds=1000"}));
}

// Every bundled plugin's defaults lie inside its own declared ranges and choices, and an image
// target refuses an evaluation batch of 0 (it used to loop forever).
TEST_F(ConfigTest, EveryBundledDefaultIsValidAndEvalBatchZeroIsRefused) {
  std::size_t ranged = 0;
  for (const auto& [name, plugin] : registry_.plugins()) {
    for (const Kind kind : {kDatasetReader, kGenerator, kTarget, kFeaturizer, kAttack}) {
      if (!plugin.provides(kind)) continue;
      for (const OptionSpec& spec : registry_.options(name, kind)) {
        if (spec.range) ++ranged;
        if (detail::trim(spec.default_value).empty()) continue;
        EXPECT_TRUE(option_value_valid(spec, spec.default_value))
            << name << " option " << spec.name << " default '" << spec.default_value << "'";
      }
    }
  }
  EXPECT_GT(ranged, 50u);
  for (const char* plugin : {"wrn", "vit", "torchscript"}) {
    bool found = false;
    for (const OptionSpec& spec : registry_.options(plugin, kTarget)) {
      if (spec.name != "eval_batch_size") continue;
      found = true;
      EXPECT_FALSE(option_value_valid(spec, "0")) << plugin;
      EXPECT_FALSE(option_value_valid(spec, "-1")) << plugin;
      EXPECT_TRUE(option_value_valid(spec, "1")) << plugin;
    }
    EXPECT_TRUE(found) << plugin;
  }
}

// The README's example configs load as written: inline ` ;` comments (on keys and on section
// lines), full-line `;` and `#` comments, and a UTF-8 byte-order mark.
TEST_F(ConfigTest, TheReadmesIniExamplesLoadAsWritten) {
  const std::string readme = testing::read_file(testing::source_dir() / "README.md");
  std::string blocks;
  for (std::size_t at = readme.find("```ini\n"); at != std::string::npos;
       at = readme.find("```ini\n", at)) {
    at += 7;
    const auto end = readme.find("```", at);
    ASSERT_NE(end, std::string::npos) << "an unterminated ```ini block in README.md";
    blocks += readme.substr(at, end - at);
  }
  ASSERT_THAT(blocks, HasSubstr("seed = 1                 ; every random draw derives from it"));
  ASSERT_THAT(blocks, HasSubstr("[helper]                 ; optional"));
  const auto config = resolve_text("\xEF\xBB\xBF# a comment\n; another\n" + blocks);
  EXPECT_EQ(config.section("audit").host.get_int("seed"), 1);
  EXPECT_EQ(config.section("audit").host.get_string("name"), "toy");
  EXPECT_EQ(config.section("audit").host.get_string("device"), "auto");
  EXPECT_EQ(config.section("helper").plugin, "mlp");
  EXPECT_EQ(config.section("generator").host.get_int("helper_samples"), 0);
  EXPECT_EQ(config.section("game").host.get_string("nonmembers"), "generated");
  EXPECT_EQ(config.section("o1").host.get_string("selection"), "bonferroni");
  EXPECT_EQ(config.section("repeat").host.get_bool("generator"), false);
  // plugin_path keeps one directory: the comment is not split at its comma into more.
  RawConfig raw = RawConfig::load(dir_ / "audit.ini");
  const auto paths = config_plugin_paths(raw);
  ASSERT_EQ(paths.size(), 1u);
  EXPECT_EQ(paths[0].filename(), "plugins-dir");
}

TEST(IniComments, WhatIsCutAndWhatIsKept) {
  EXPECT_EQ(strip_ini_comments("a = 1 ; c\n"), "a = 1 \n");
  EXPECT_EQ(strip_ini_comments("a = 1\t; c\n"), "a = 1\t\n");
  EXPECT_EQ(strip_ini_comments("  ; whole line\nb = 2"), "\nb = 2\n");
  // A semicolon inside a value (not after a blank) is part of the value.
  EXPECT_EQ(strip_ini_comments("p = a;b\n"), "p = a;b\n");
  EXPECT_EQ(strip_ini_comments("\xEF\xBB\xBF[audit]\r\n"), "[audit]\r\n");
  EXPECT_EQ(strip_ini_comments(""), "");
}

TEST(EditDistance, KnownValues) {
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(nearest("epoch", {"epochs", "lr", "batch_size"}), "epochs");
  EXPECT_EQ(nearest("zzzzzzzz", {"lr"}), "");
}

}  // namespace
}  // namespace panoramia
