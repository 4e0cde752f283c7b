#pragma once
// The command-line face of multi-process runs, shared by `train` and `eval`: --nproc N
// (start N local ranks: meta/parallel/launch.h) and --dist-timeout, and joining the run when
// torchrun's variables say this process is a rank (meta/parallel/collectives.h).

#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "apps/commands.h"
#include "envs/errors.h"
#include "meta/parallel/collectives.h"
#include "meta/parallel/launch.h"

namespace metarl::apps {

class ProcessFlags {
 public:
  void add_to(CLI::App& command, const std::string& what) {
    command.add_option("--nproc", nproc_,
                       what + " as N processes on this machine, each with its share of the tasks "
                              "(docs/distributed.md; several machines: torchrun's RANK, WORLD_SIZE, MASTER_ADDR, "
                              "MASTER_PORT)")
        ->check(CLI::Range(1, 1024));
    command.add_option("--dist-timeout", timeout_seconds_,
                       "Seconds a multi-process run waits for the rendezvous or a collective before naming the ranks "
                       "that stopped responding")
        ->check(CLI::Range(1.0, 86400.0));
  }

  // When --nproc asks for ranks and this process is none yet: runs this command line
  // as them and ends with their status (ExitStatus). Returns false otherwise.
  bool launched() const {
    if (nproc_ == 0 || meta::launch_environment()) return false;
    const int code = meta::run_local_processes(nproc_, meta::without_nproc(command_line()),
                                               [](const std::string& line) { std::cerr << "metarl: " << line << "\n"; });
    if (code != 0) throw ExitStatus{code};
    return true;
  }

  // This process's rank of the run (meta::single_process_shared() when it runs alone).
  // Throws UsageError when the variables ask for a run this build cannot join.
  std::shared_ptr<const meta::Collectives> join() const {
    const auto launch = meta::launch_environment();
    if (!launch) return meta::single_process_shared();
    if (!meta::distributed_support()) {
      throw UsageError("RANK is set (a multi-process run), but this metarl was built without c10d's Gloo (install "
                       "libgloo-dev and rebuild)");
    }
    meta::DistributedOptions options;
    options.timeout_seconds = timeout_seconds_;
    return meta::connect(*launch, options);
  }

  // cuda → cuda:LOCAL_RANK for a rank: one GPU per rank of a machine.
  static std::string device_of_rank(const std::string& device) {
    const auto launch = meta::launch_environment();
    if (launch && device == "cuda") return "cuda:" + std::to_string(launch->local_rank);
    return device;
  }

 private:
  int nproc_ = 0;
  double timeout_seconds_ = 300.0;
};

}  // namespace metarl::apps
