// The loader: every refusal is one sentence naming the file and the reason, and the host goes on.
#include <algorithm>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "context_impl.hpp"
#include "plugin_error.hpp"
#include "plugin_registry.hpp"
#include "support/run_panoramia.hpp"

namespace panoramia {
namespace {

using testing::fixture_dir;
using ::testing::HasSubstr;

std::string so(const std::string& fixture, const std::string& lib) {
  return (fixture_dir(fixture) / ("lib" + lib + ".so")).string();
}

TEST(Loader, LoadsTheBundledPlugins) {
  PluginRegistry registry;
  registry.load_directory(testing::build_dir() / "lib" / "panoramia" / "plugins");
  ASSERT_NE(registry.find("mlp"), nullptr);
  EXPECT_TRUE(registry.find("mlp")->provides(kTarget));
  EXPECT_TRUE(registry.find("mlp")->provides(kAttack));
  EXPECT_FALSE(registry.find("mlp")->provides(kGenerator));
  EXPECT_NE(registry.find("loss-threshold"), nullptr);
  EXPECT_NE(registry.find("gaussian"), nullptr);
}

// A handshake pointer that is not the library's data (an unmapped address, a name pointing
// nowhere) is refused in one sentence instead of crashing the host (issue 15, finding 10).
TEST(Loader, RefusesAHandshakeOutsideTheLibrarysData) {
  PluginRegistry registry;
  EXPECT_FALSE(registry.load_file(so("bad_info_unmapped", "fixture_bad_info_unmapped")));
  EXPECT_FALSE(registry.load_file(so("bad_info_dangling_name", "fixture_bad_info_dangling_name")));
  ASSERT_EQ(registry.refusals().size(), 2u);
  EXPECT_THAT(registry.refusals()[0], HasSubstr("libfixture_bad_info_unmapped.so"));
  EXPECT_THAT(registry.refusals()[0],
              HasSubstr("its panoramia_plugin_info returned an address outside the loaded "
                        "libraries' data"));
  EXPECT_THAT(registry.refusals()[1],
              HasSubstr("the name of its panoramia_plugin_info points outside the loaded "
                        "libraries' data or is not a string"));
  EXPECT_TRUE(registry.plugins().empty());
}

TEST(Loader, RefusesWrongApiVersion) {
  PluginRegistry registry;
  EXPECT_FALSE(registry.load_file(so("wrong_api", "fixture_wrong_api")));
  ASSERT_EQ(registry.refusals().size(), 1u);
  EXPECT_THAT(registry.refusals()[0], HasSubstr("libfixture_wrong_api.so"));
  EXPECT_THAT(registry.refusals()[0],
              HasSubstr("built for plugin API version 999 but this host speaks version 6"));
}

TEST(Loader, RefusesAPluginOfThePreviousApiInOneSentence) {
  // API 6 added the reference models' signals to AttackData: a plugin built against API 5 would
  // read the struct with the old layout, so it is refused before any of its code runs.
  PluginRegistry registry;
  EXPECT_FALSE(registry.load_file(so("previous_api", "fixture_previous_api")));
  ASSERT_EQ(registry.refusals().size(), 1u);
  const std::string& refusal = registry.refusals()[0];
  EXPECT_THAT(refusal, HasSubstr("libfixture_previous_api.so"));
  EXPECT_THAT(refusal, HasSubstr("it was built for plugin API version 5 but this host speaks "
                                 "version 6 (rebuild it against this host's plugin-api headers)"));
  EXPECT_EQ(std::count(refusal.begin(), refusal.end(), '\n'), 0);
  EXPECT_EQ(registry.find("previous-api"), nullptr);
}

TEST(Loader, RefusesWrongTorchVersion) {
  PluginRegistry registry;
  EXPECT_FALSE(registry.load_file(so("wrong_torch", "fixture_wrong_torch")));
  EXPECT_THAT(registry.refusals().at(0), HasSubstr("built against LibTorch 0.4.1"));
  EXPECT_THAT(registry.refusals().at(0), HasSubstr("libfixture_wrong_torch.so"));
}

TEST(Loader, RefusesWrongAbi) {
  PluginRegistry registry;
  EXPECT_FALSE(registry.load_file(so("wrong_abi", "fixture_wrong_abi")));
  EXPECT_THAT(registry.refusals().at(0),
              HasSubstr("built with _GLIBCXX_USE_CXX11_ABI=0 but this host uses "
                        "_GLIBCXX_USE_CXX11_ABI=1"));
}

TEST(Loader, RefusesMissingEntryPoint) {
  PluginRegistry registry;
  EXPECT_FALSE(registry.load_file(so("no_entry", "fixture_no_entry")));
  EXPECT_THAT(registry.refusals().at(0), HasSubstr("has no panoramia_plugin_info entry point"));
  EXPECT_THAT(registry.refusals().at(0), HasSubstr("libfixture_no_entry.so"));
}

TEST(Loader, RefusesDuplicateNameAndKeepsTheFirst) {
  PluginRegistry registry;
  registry.load_directory(testing::build_dir() / "lib" / "panoramia" / "plugins");
  const auto first = registry.find("mlp")->path;
  EXPECT_FALSE(registry.load_file(so("duplicate", "fixture_duplicate")));
  EXPECT_THAT(registry.refusals().back(), HasSubstr("a plugin named 'mlp' is already loaded from"));
  EXPECT_EQ(registry.find("mlp")->path, first);
}

TEST(Loader, RefusesAFileThatIsNotASharedLibrary) {
  testing::TempDir dir;
  testing::write_file(dir / "fake.so", "this is not an ELF file\n");
  PluginRegistry registry;
  registry.load_directory(dir.path());
  ASSERT_EQ(registry.refusals().size(), 1u);
  EXPECT_THAT(registry.refusals()[0], HasSubstr("fake.so"));
  EXPECT_THAT(registry.refusals()[0], HasSubstr("is not a loadable shared library"));
}

TEST(Loader, MissingDirectoryIsAnErrorSentenceNotACrash) {
  PluginRegistry registry;
  registry.load_directory("/nonexistent/plugins");
  ASSERT_EQ(registry.refusals().size(), 1u);
  EXPECT_EQ(registry.refusals()[0], "plugin directory /nonexistent/plugins does not exist.");
}

TEST(Loader, GoesOnAfterARefusal) {
  PluginRegistry registry;
  registry.load_file(so("wrong_api", "fixture_wrong_api"));
  EXPECT_TRUE(registry.load_file(so("good", "fixture_good")));
  EXPECT_NE(registry.find("good"), nullptr);
}

TEST(Loader, UnknownPluginNamesTheAvailableOnes) {
  PluginRegistry registry;
  registry.load_file(so("good", "fixture_good"));
  try {
    registry.get("nope", kAttack);
    FAIL() << "expected an error";
  } catch (const UserError& e) {
    EXPECT_STREQ(e.what(), "no attack plugin named 'nope' is loaded (available: good)");
  }
  EXPECT_THROW(registry.get("good", kGenerator), UserError);
}

TEST(Loader, ExceptionsFromPluginCodeBecomePluginErrors) {
  PluginRegistry registry;
  ASSERT_TRUE(registry.load_file(so("throwing", "fixture_throwing")));
  auto specs = registry.options("throwing", kAttack);
  auto make_ctx = [&](const std::string& where) {
    return std::make_unique<HostContext>(OptionValues(specs, {{"where", where}}),
                                         spdlog::default_logger(), 1,
                                         std::filesystem::temp_directory_path(), c10::kCPU);
  };
  auto ctx = make_ctx("constructor");
  try {
    registry.make_attack("throwing", *ctx);
    FAIL() << "expected an error";
  } catch (const PluginError& e) {
    EXPECT_STREQ(
        e.what(),
        "plugin 'throwing' failed in creating the attack: constructor exploded on purpose");
  }
  auto ctx2 = make_ctx("fit");
  auto attack = registry.make_attack("throwing", *ctx2);
  AttackData data;
  try {
    guarded("throwing", "fit", [&] { attack->fit(data, torch::zeros({0}), *ctx2); });
    FAIL() << "expected an error";
  } catch (const PluginError& e) {
    EXPECT_EQ(e.plugin(), "throwing");
    EXPECT_STREQ(e.what(), "plugin 'throwing' failed in fit: fit exploded on purpose");
  }
}

TEST(Loader, ObjectsKeepTheirLibraryAlive) {
  std::shared_ptr<Attack> attack;
  auto ctx = std::make_unique<HostContext>(OptionValues(), spdlog::default_logger(), 1,
                                           std::filesystem::temp_directory_path(), c10::kCPU);
  {
    PluginRegistry registry;
    ASSERT_TRUE(registry.load_file(so("good", "fixture_good")));
    attack = registry.make_attack("good", *ctx);
  }
  // The registry is gone; the object still works because it holds its library.
  AttackData data;
  data.samples.x = torch::zeros({3, 2});
  EXPECT_EQ(attack->score(data, *ctx).size(0), 3);
}

}  // namespace
}  // namespace panoramia
