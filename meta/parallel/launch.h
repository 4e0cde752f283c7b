#pragma once
// `metarl train --nproc N` (and `eval --nproc N`): the one-machine launcher. It starts
// N copies of this executable as the ranks of one run, with torchrun's variables
// (RANK = LOCAL_RANK = r, WORLD_SIZE = LOCAL_WORLD_SIZE = N, MASTER_ADDR = 127.0.0.1,
// MASTER_PORT a free port), waits for them, and stops the others as soon as one fails.
// Several machines: start the ranks with torchrun, srun or ssh (docs/distributed.md).

#include <functional>
#include <string>
#include <vector>

namespace metarl::meta {

// Runs `arguments` (argv[0] first; without --nproc) as `processes` ranks; returns the
// exit status to pass on: 0 when every rank succeeded, else the first failure's
// (its exit code, or 128 + the signal that killed it), after stopping the others
// (SIGTERM, then SIGKILL after `grace_seconds`). SIGINT and SIGTERM to the launcher
// are passed to every rank once (each then stops after its iteration, with a
// checkpoint). `report` receives one line per event ("rank 1 (pid 4242) started",
// "rank 1 was killed by signal 9").
int run_local_processes(int processes, const std::vector<std::string>& arguments,
                        const std::function<void(const std::string&)>& report, double grace_seconds = 20.0);

// Runs independent commands (argv[0] first; each run by this executable), at most
// `jobs` at a time, in order: the seeds of a seed group (meta/run/seed_group.h). A command
// that fails does not stop the others. SIGINT and SIGTERM to this process are passed
// to the running commands once, and no further command starts. `report(i, line)`
// receives "started (pid 4242)" and, for a failure, "exited with status 1" or "was
// killed by signal 9". Returns the first failure's status (exit code, or 128 + signal),
// or 0 when every command succeeded.
int run_independent_processes(const std::vector<std::vector<std::string>>& commands, int jobs,
                              const std::function<void(size_t, const std::string&)>& report);

// argv without "--nproc N" / "--nproc=N".
std::vector<std::string> without_nproc(const std::vector<std::string>& argv);
// argv without each of `options` ("--seeds" drops "--seeds V" and "--seeds=V").
std::vector<std::string> without_options(const std::vector<std::string>& argv, const std::vector<std::string>& options);

}  // namespace metarl::meta
