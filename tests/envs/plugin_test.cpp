// The plug-in loader (envs/plugin.h) in process, on the test plug-ins of
// tests/plugins/: accepted plug-ins add their environments, refused ones add nothing
// and say why; EnvRegistry::merge is all or nothing. The command line's messages and
// exit codes are in tests/apps/cli_test.cpp.

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "envs/conformance.h"
#include "envs/errors.h"
#include "envs/plugin.h"
#include "envs/point_nav.h"
#include "envs/registry.h"

namespace metarl::envs {
namespace {

std::string test_plugin(const std::string& kind) {
  return std::string(METARL_TEST_PLUGIN_DIR) + "/libmetarl_test_plugin_" + kind + ".so";
}

EnvEntry point_nav_entry(const std::string& name) {
  return {name, "point-nav under another name",
          [](int batch_size, std::uint64_t seed) { return std::make_unique<PointNav>(batch_size, seed); }};
}

// The UsageError's message, or "" when `load` does not throw one.
template <typename Load>
std::string usage_error_of(Load&& load) {
  try {
    load();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(EnvRegistryMerge, MovesEveryEntryOrNone) {
  EnvRegistry registry;
  registry.add(point_nav_entry("a"));
  EnvRegistry clashing;
  clashing.add(point_nav_entry("b"));
  clashing.add(point_nav_entry("a"));
  EXPECT_THROW(registry.merge(std::move(clashing)), std::invalid_argument);
  EXPECT_EQ(registry.names(), (std::vector<std::string>{"a"}));

  EnvRegistry fresh;
  fresh.add(point_nav_entry("b"));
  fresh.add(point_nav_entry("c"));
  registry.merge(std::move(fresh));
  EXPECT_EQ(registry.names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(registry.make("c", 2, 0)->batch_size(), 2);
}

TEST(PluginLoader, AddsThePluginsEnvironmentsWhichPassTheConformanceChecks) {
  EnvRegistry registry;
  register_builtin_envs(registry);
  const LoadedPlugin plugin = load_plugin(test_plugin("good"), registry);
  EXPECT_EQ(plugin.environments, (std::vector<std::string>{"test-drift"}));
  EXPECT_EQ(plugin.metarl_version, METARL_VERSION);
  ASSERT_NE(registry.find("test-drift"), nullptr);
  for (const auto& outcome : check_conformance("test-drift", registry)) {
    EXPECT_TRUE(outcome.result.passed) << outcome.check << ": " << outcome.result.message;
  }
  bool listed = false;
  for (const auto& loaded : loaded_plugins()) listed = listed || loaded.path == test_plugin("good");
  EXPECT_TRUE(listed);

  // Loaded twice into the same registry, or another library with the same names.
  EXPECT_NE(usage_error_of([&] { load_plugin(test_plugin("good"), registry); }).find("is already loaded"),
            std::string::npos);
  const std::string clash = usage_error_of([&] { load_plugin(test_plugin("good_again"), registry); });
  EXPECT_NE(clash.find("'test-drift', which is already taken (registered by plug-in '" + test_plugin("good")),
            std::string::npos)
      << clash;
}

TEST(PluginLoader, TheConformanceChecksCatchAnEnvironmentThatLeavesItsBounds) {
  EnvRegistry registry;
  load_plugin(test_plugin("nonconforming"), registry);
  const auto outcomes = check_conformance("test-drift-escapes", registry);
  ASSERT_EQ(outcomes.size(), conformance_checks().size());
  for (const auto& outcome : outcomes) {
    if (outcome.check == "spec_shapes_and_bounds") {
      EXPECT_FALSE(outcome.result.passed);
      EXPECT_NE(outcome.result.message.find("outside its declared bounds [-0.5, 0.5]"), std::string::npos)
          << outcome.result.message;
    } else {
      EXPECT_TRUE(outcome.result.passed) << outcome.check << ": " << outcome.result.message;
    }
  }
  EXPECT_THROW(check_conformance("no-such-env", registry), UsageError);
}

TEST(PluginLoader, RefusedPluginsAddNothingAndSayWhy) {
  EnvRegistry registry;
  register_builtin_envs(registry);
  const auto names = registry.names();
  const std::vector<std::pair<std::string, std::string>> cases{
      {test_plugin("absent"), "does not exist"},
      {METARL_TEST_PLUGIN_DIR, "is not a file"},
      {test_plugin("no_entry"), "has no metarl entry point (metarl_plugin_abi_version)"},
      {test_plugin("empty"), "registers no environment"},
      {test_plugin("clash"), "registers environment 'point-nav', which is already taken (a built-in environment)"},
      {test_plugin("throws"), "failed in its register function: the simulator licence file is missing"},
      {test_plugin("wrong_abi"), "was built for plug-in ABI version " + std::to_string(kPluginAbiVersion + 1) +
                                     ", expected " + std::to_string(kPluginAbiVersion)},
      {test_plugin("wrong_version"), "was built against metarl 9.9.0, expected"},
      {test_plugin("wrong_string_abi"), "was built with the std::string ABI"},
  };
  for (const auto& [path, problem] : cases) {
    const std::string message = usage_error_of([&] { load_plugin(path, registry); });
    EXPECT_EQ(message.rfind("plug-in '" + path + "' ", 0), 0u) << message;
    EXPECT_NE(message.find(problem), std::string::npos) << "expected '" << problem << "' in: " << message;
    EXPECT_EQ(registry.names(), names) << path;
  }
}

}  // namespace
}  // namespace metarl::envs
