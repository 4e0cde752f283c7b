#pragma once
// One function per subcommand, each in its own file: it declares the options and
// installs the callback that runs it. Errors propagate to main(), which maps them
// to exit codes (UsageError and CLI parse errors → 2, other failures → 1).

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace metarl::apps {

// The process's own argv, kept by main() for the launcher of --nproc.
void set_command_line(int argc, char** argv);
const std::vector<std::string>& command_line();

// Thrown by a subcommand that ends with an exit status of its own (the launcher of
// --nproc passes on a rank's); main() returns it.
struct ExitStatus {
  int code = 0;
};

void add_envs_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_plot_command(CLI::App& app);
void add_check_env_command(CLI::App& app);
void add_bench_command(CLI::App& app);

}  // namespace metarl::apps
