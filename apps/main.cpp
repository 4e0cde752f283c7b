// metarl: the command line. Subcommands live one per file (envs.cpp, train.cpp,
// eval.cpp, plot.cpp, check_env.cpp, bench.cpp); this file registers them, loads plug-ins
// (--plugin, before the subcommand) and owns the one try/catch that turns errors
// into messages and exit codes: 0 success, 2 usage errors, 1 runtime failures,
// 128 + signal when SIGINT/SIGTERM stopped a run (after saving its checkpoint).

#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>

#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "apps/flag_suggestion.h"
#include "envs/errors.h"
#include "envs/plugin.h"
#include "envs/version.h"

namespace metarl::apps {

namespace {
std::vector<std::string>& stored_command_line() {
  static std::vector<std::string> argv;
  return argv;
}
}  // namespace

void set_command_line(int argc, char** argv) { stored_command_line().assign(argv, argv + argc); }
const std::vector<std::string>& command_line() { return stored_command_line(); }

}  // namespace metarl::apps

int main(int argc, char** argv) {
  metarl::apps::set_command_line(argc, argv);
  // A rank of a distributed run says which it is in its messages.
  const char* rank = std::getenv("RANK");
  const std::string who = rank ? "metarl: rank " + std::string(rank) + ": " : "metarl: ";
  CLI::App app{"metarl: meta-reinforcement learning (Meta-SGD, MAML) in C++"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "metarl " METARL_VERSION);
  std::vector<std::string> plugins;
  app.add_option("--plugin", plugins,
                 "Load the environments a plug-in shared library registers (repeatable; before the subcommand)")
      ->type_name("LIB")
      ->allow_extra_args(false);
  // After parsing and before any subcommand runs, so that every subcommand (envs,
  // train, eval, plot, check-env) finds the plug-ins' environments by name.
  app.parse_complete_callback([&plugins] {
    for (const auto& path : plugins) metarl::envs::load_plugin(path);
  });
  metarl::apps::add_envs_command(app);
  metarl::apps::add_train_command(app);
  metarl::apps::add_eval_command(app);
  metarl::apps::add_plot_command(app);
  metarl::apps::add_check_env_command(app);
  metarl::apps::add_bench_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and version requests exit 0; every other parse error is a usage error.
    const int code = app.exit(e) == 0 ? 0 : 2;
    if (code != 0) {
      const std::string hint =
          metarl::apps::parse_error_hint(app, e, std::vector<std::string>(argv + 1, argv + argc));
      if (!hint.empty()) std::cerr << hint << "\n";
    }
    return code;
  } catch (const metarl::apps::ExitStatus& e) {
    return e.code;
  } catch (const metarl::Interrupted& e) {
    std::cerr << who << e.what() << "\n";
    return 128 + e.signal_number();
  } catch (const metarl::UsageError& e) {
    std::cerr << who << "error: " << e.what() << "\n";
    return 2;
  } catch (const c10::Error& e) {
    // LibTorch's own errors carry a C++ backtrace meant for its developers: the
    // message alone says what failed.
    std::cerr << who << "failed: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << who << "failed: " << e.what() << "\n";
    return 1;
  } catch (...) {
    // Not a std::exception: thrown by code metarl does not own (a plug-in's).
    std::cerr << who << "failed: an exception that is not a std::exception escaped (thrown by a plug-in?)\n";
    return 1;
  }
  return 0;
}
