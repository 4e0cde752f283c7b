// `metarl check-env [NAME...]`: the conformance suite (envs/conformance.h) on registered
// environments, a plug-in's included (`metarl --plugin LIB check-env NAME`); every
// registered one when no name is given. One PASS/FAIL line per check; exit 0 when every
// check passes, 1 when one fails, 2 for an unknown name.

#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "envs/conformance.h"
#include "envs/registry.h"

namespace metarl::apps {

namespace {
struct CheckEnvOptions {
  std::vector<std::string> names;
};

void run_check_env(const CheckEnvOptions& options) {
  std::string failures;
  const std::vector<std::string> names =
      options.names.empty() ? envs::EnvRegistry::global().names() : options.names;
  for (const auto& name : names) {
    const auto outcomes = envs::check_conformance(name);
    int passed = 0;
    std::cout << name << "\n";
    for (const auto& outcome : outcomes) {
      passed += outcome.result.passed;
      std::cout << (outcome.result.passed ? "  PASS  " : "  FAIL  ") << outcome.check;
      if (!outcome.result.passed) std::cout << ": " << outcome.result.message;
      std::cout << "\n";
    }
    std::cout << "  " << passed << " of " << outcomes.size() << " checks passed\n" << std::flush;
    if (passed != static_cast<int>(outcomes.size())) {
      failures += (failures.empty() ? "" : ", ") + name + " (" + std::to_string(outcomes.size() - passed) + " of " +
                  std::to_string(outcomes.size()) + " checks failed)";
    }
  }
  if (!failures.empty()) throw std::runtime_error("not conforming: " + failures);
}
}  // namespace

void add_check_env_command(CLI::App& app) {
  auto options = std::make_shared<CheckEnvOptions>();
  CLI::App* command = app.add_subcommand(
      "check-env", "Run the environment conformance checks (spec, seeding, time limit, tasks) on environments");
  command->add_option("names", options->names, "Environments to check (see `metarl envs`); all registered ones when none");
  command->callback([options] { run_check_env(*options); });
}

}  // namespace metarl::apps
