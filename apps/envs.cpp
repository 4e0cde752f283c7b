// `metarl envs [NAME...]`: environments, their task parameters with units, and the
// training and held-out ranges.

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "envs/registry.h"

namespace metarl::apps {

namespace {
struct EnvsOptions {
  std::vector<std::string> names;  // empty: all
};

void run_envs(const EnvsOptions& options) {
  const auto& registry = envs::EnvRegistry::global();
  const auto names = options.names.empty() ? registry.names() : options.names;
  for (size_t i = 0; i < names.size(); ++i) {
    std::cout << (i ? "\n" : "") << envs::describe_environment(names[i], registry);
  }
}
}  // namespace

void add_envs_command(CLI::App& app) {
  auto options = std::make_shared<EnvsOptions>();
  CLI::App* command = app.add_subcommand("envs", "List environments, their task parameters and ranges");
  command->add_option("names", options->names, "Only these environments");
  command->callback([options] { run_envs(*options); });
}

}  // namespace metarl::apps
