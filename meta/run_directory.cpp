#include "meta/run_directory.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <vector>

#include "envs/errors.h"
#include "meta/checkpoint.h"
#include "meta/experiment.h"
#include "meta/runtime.h"
#include "meta/trainer.h"

namespace metarl::meta {

namespace fs = std::filesystem;

namespace {

// A run that stopped before its first checkpoint: nothing to resume, and nothing in
// the way of running it again.
UsageError nothing_to_resume(const std::string& run_dir) {
  return UsageError("--resume '" + run_dir + "': the run holds no checkpoint (it stopped before its first); start it "
                    "again with the same command, `metarl train ... --out " + run_dir + "` (no --force needed)");
}

}  // namespace

TrainConfig resumed_config(const std::string& run_dir) {
  std::error_code ec;
  if (fs::is_directory(run_dir, ec) && !fs::exists(fs::path(run_dir) / kCheckpointFile, ec) &&
      fs::exists(fs::path(run_dir) / kConfigFile, ec)) {
    throw nothing_to_resume(run_dir);
  }
  const CheckpointData data = load_checkpoint(run_dir);
  TrainConfig config;
  load_config_yaml(config, data.config_yaml, "config of checkpoint '" + resolve_checkpoint_path(run_dir) + "'");
  return config;
}

TrainConfig extended_config(TrainConfig resumed, int iterations) {
  const std::string value = std::to_string(iterations);
  if (iterations < resumed.iterations) {
    throw UsageError("--iterations " + value + ": the run was configured for " + std::to_string(resumed.iterations) +
                     " iterations; a resumed run can only be extended");
  }
  // The step-size schedule is Adam's (adam and promp); TRPO takes no step size from it.
  if (resumed.optimizer != "trpo" && resumed.outer_lr_decay != OuterLrDecay::kNone) {
    throw UsageError("--iterations " + value + ": the run's Adam step size decays over its " +
                     std::to_string(resumed.iterations) + " iterations (outer_lr_decay " +
                     to_string(resumed.outer_lr_decay) +
                     "), so extending it would change the steps already taken; start a new run instead");
  }
  resumed.iterations = iterations;
  return resumed;
}

namespace {

// metrics.csv's rows after the header, and the iteration each starts with, in file
// order (a row that does not start with a number ends the list).
struct MetricsRows {
  std::vector<std::string> lines;
  std::vector<int> iterations;
};

MetricsRows read_metrics_rows(const fs::path& metrics_path) {
  std::ifstream in(metrics_path);
  MetricsRows rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    try {
      rows.iterations.push_back(std::stoi(line.substr(0, line.find(','))));
    } catch (const std::exception&) {
      break;
    }
    rows.lines.push_back(line);
  }
  return rows;
}

// "1–2 and 7–10": runs of consecutive iterations, for a message.
std::string describe_iterations(const std::vector<int>& iterations) {
  if (iterations.empty()) return "no rows";
  std::string out;
  size_t start = 0;
  for (size_t i = 1; i <= iterations.size(); ++i) {
    if (i == iterations.size() || iterations[i] != iterations[i - 1] + 1) {
      const std::string run = iterations[start] == iterations[i - 1]
                                  ? std::to_string(iterations[start])
                                  : std::to_string(iterations[start]) + "-" + std::to_string(iterations[i - 1]);
      out += (out.empty() ? "" : ", ") + run;
      start = i;
    }
  }
  return "rows of iterations " + out;
}

// metrics.csv of a resumed run: its rows must be iterations 1..covered, in order (rows
// after them are work a crash lost, dropped here). A row missing is history lost:
// refused, not papered over.
void keep_metrics_up_to(const fs::path& run_dir, const fs::path& metrics_path, int covered) {
  std::error_code ec;
  if (!fs::exists(metrics_path, ec)) {
    throw UsageError("--resume " + run_dir.string() + ": metrics.csv is missing, and the checkpoint covers iterations "
                     "1-" + std::to_string(covered) + "; resuming would leave a run without its history (restore "
                     "metrics.csv, or start a new run)");
  }
  const MetricsRows rows = read_metrics_rows(metrics_path);
  const std::vector<int>& iterations = rows.iterations;
  for (int i = 0; i < covered; ++i) {
    if (static_cast<int>(iterations.size()) <= i || iterations[static_cast<size_t>(i)] != i + 1) {
      throw UsageError("--resume " + run_dir.string() + ": metrics.csv holds " + describe_iterations(iterations) +
                       ", the checkpoint covers iterations 1-" + std::to_string(covered) +
                       "; resuming would continue with a hole in the run's history (restore metrics.csv, or start a "
                       "new run)");
    }
  }
  std::string kept = IterationMetrics::csv_header() + "\n";
  for (int i = 0; i < covered; ++i) kept += rows.lines[static_cast<size_t>(i)] + "\n";
  write_file_atomically(metrics_path.string(), kept);
}

// Temporary files of an atomic write (NAME.tmp.PID) that a crash or a kill left: those
// whose process is gone. A live process's (an eval writing beside a run) are its own.
void remove_stale_temporaries(const fs::path& run_dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(run_dir, ec)) {
    const std::string name = entry.path().filename().string();
    const auto at = name.rfind(".tmp.");
    if (at == std::string::npos) continue;
    const std::string pid_text = name.substr(at + 5);
    const bool numeric = !pid_text.empty() && pid_text.find_first_not_of("0123456789") == std::string::npos;
    if (numeric && pid_text.size() < 10) {
      const auto pid = static_cast<pid_t>(std::stol(pid_text));
      if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno == EPERM) continue;  // alive (or not ours to judge)
    }
    fs::remove(entry.path(), ec);
  }
}

// What a run writes into its directory; --force removes every one of them that a
// previous run left, so that nothing of it (an evaluation of another environment, its
// plots) survives into the new one. Other files are the user's and stay.
void remove_previous_run(const fs::path& run_dir) {
  std::error_code ec;
  for (const char* file : {kCheckpointFile, kMetricsFile, kConfigFile}) fs::remove(run_dir / file, ec);
  for (const auto& entry : fs::directory_iterator(run_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("eval_", 0) == 0 && entry.path().extension() == ".json") fs::remove(entry.path(), ec);
  }
  fs::remove_all(run_dir / "plots", ec);
}

}  // namespace

RunDirectoryLock::RunDirectoryLock(const std::string& run_dir) {
  const std::string path = (fs::path(run_dir) / kLockFile).string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw std::runtime_error("cannot open the lock '" + path + "' of the run directory: " + std::strerror(errno));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int why = errno;
    char holder[32] = {0};
    const ssize_t n = ::pread(fd_, holder, sizeof(holder) - 1, 0);
    ::close(fd_);
    fd_ = -1;
    if (why == EWOULDBLOCK) {
      const std::string text = n > 0 ? std::string(holder, static_cast<size_t>(n)) : "unknown";
      const std::string pid = n > 0 ? text.substr(0, text.find_first_not_of("0123456789")) : text;
      throw UsageError("run directory '" + run_dir + "' is in use by process " + pid +
                       " (a metarl train or resume); wait for it, or stop it first");
    }
    throw std::runtime_error("cannot lock '" + path + "': " + std::strerror(why));
  }
  // The holder's pid, for the message of the next process that tries.
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    // The lock holds without the pid; the next message says "unknown".
  }
}

RunDirectoryLock::~RunDirectoryLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

void run_training(const TrainConfig& config, const TrainRunOptions& options) {
  if (options.out_dir.empty()) throw UsageError("--out: a run directory is required");
  // Everything that can reject the config happens before the run directory is touched.
  MetaTrainer trainer(config, options.collectives);
  configure_threads(config.threads);
  const Collectives& collectives = trainer.collectives();
  const bool writes = collectives.rank() == 0;  // rank 0 owns the run directory

  const fs::path run_dir(options.out_dir);
  const fs::path metrics_path = run_dir / kMetricsFile;
  const std::string checkpoint_path = (run_dir / kCheckpointFile).string();
  std::error_code ec;
  // Rank 0 locks, checks and prepares the directory; the others learn whether it could
  // (in two rounds: a resumed run's checkpoint is read by every process between them,
  // before anything in the directory changes).
  std::unique_ptr<RunDirectoryLock> lock;
  auto on_rank0 = [&](const std::function<void()>& work) {
    std::string refused;
    bool usage = true;
    if (writes) {
      try {
        work();
      } catch (const UsageError& e) {
        refused = e.what();
      } catch (const std::exception& e) {
        refused = e.what();
        usage = false;
      }
    }
    const double outcome = refused.empty() ? 0.0 : (usage ? 1.0 : 2.0);
    if (all_reduce_sum(collectives, outcome, "whether rank 0 could use the run directory") != 0.0) {
      if (writes && usage) throw UsageError(refused);
      if (writes) throw std::runtime_error(refused);
      throw UsageError("rank 0 could not use the run directory '" + options.out_dir + "' (its message says why)");
    }
  };
  on_rank0([&] {
    if (fs::exists(run_dir, ec) && !fs::is_directory(run_dir, ec)) {
      throw UsageError("--out '" + options.out_dir + "' exists and is not a directory");
    }
    if (options.resume && !fs::exists(run_dir, ec)) {
      throw UsageError("--resume '" + options.out_dir + "': no such run directory");
    }
    fs::create_directories(run_dir, ec);
    if (ec) throw std::runtime_error("cannot create run directory '" + options.out_dir + "': " + ec.message());
    lock = std::make_unique<RunDirectoryLock>(options.out_dir);
    if (::access(run_dir.c_str(), W_OK) != 0) {
      throw UsageError("run directory '" + options.out_dir + "' is not writable: " + std::strerror(errno));
    }
    remove_stale_temporaries(run_dir);
    const bool has_checkpoint = fs::exists(checkpoint_path, ec);
    if (options.resume && !has_checkpoint) throw nothing_to_resume(options.out_dir);
    if (!options.resume && has_checkpoint && !options.force) {
      throw UsageError("--out '" + options.out_dir + "' already holds a run (" + kCheckpointFile +
                       "); resume it with --resume, choose another directory, or pass --force to overwrite it");
    }
  });
  if (options.resume) trainer.restore(checkpoint_path);  // every process: its rows' streams
  on_rank0([&] {
    if (options.resume) {
      keep_metrics_up_to(run_dir, metrics_path, trainer.iterations_done());
      // The same config, or one extended by extended_config: config.yaml says what the run does.
      write_file_atomically((run_dir / kConfigFile).string(), to_yaml(config));
    } else {
      // --force, or a run that stopped before its first checkpoint (config.yaml and
      // metrics.csv, nothing to resume): its files make way for this run.
      remove_previous_run(run_dir);
      write_file_atomically((run_dir / kConfigFile).string(), to_yaml(config));
      write_file_atomically(metrics_path.string(), IterationMetrics::csv_header() + "\n");
    }
  });

  // metrics.csv grows one complete line per iteration, flushed at once (one write),
  // so a crash loses at most the line being written; the checkpoint says how far
  // the run got, and a resume drops the rows after it.
  std::ofstream metrics_file;
  if (writes) {
    metrics_file.open(metrics_path, std::ios::app);
    if (!metrics_file) throw std::runtime_error("cannot write '" + metrics_path.string() + "': " + std::strerror(errno));
  }
  if (options.on_start) options.on_start();
  int checkpointed_iteration = options.resume ? trainer.iterations_done() : 0;
  // Where the last good state is, for a failure's message.
  auto last_good_state = [&] {
    if (checkpointed_iteration > 0) {
      return "the last checkpoint (iteration " + std::to_string(checkpointed_iteration) +
             ") holds the last good state; resume with `metarl train --resume " + options.out_dir + "`";
    }
    return std::string("no checkpoint was written yet: start the run again with the same command (no --force "
                       "needed)");
  };
  try {
    while (trainer.iterations_done() < config.iterations) {
      const IterationMetrics metrics = trainer.run_iteration();
      if (writes) {
        metrics_file << metrics.csv_row() + "\n" << std::flush;
        if (!metrics_file) {
          throw std::runtime_error("cannot append to '" + metrics_path.string() + "': " + std::strerror(errno));
        }
      }
      const bool last = trainer.iterations_done() == config.iterations;
      int stop_signal = options.stop_requested ? options.stop_requested() : 0;
      if (collectives.distributed()) {
        // A stop asked of any process stops every one after this iteration; the largest
        // signal number stands for them all.
        const auto signals = collectives.all_gather(
            torch::full({1}, static_cast<int64_t>(stop_signal), torch::kInt64), "the stop requests");
        for (const auto& s : signals) stop_signal = std::max(stop_signal, static_cast<int>(s.item<int64_t>()));
      }
      const bool checkpointed = trainer.iterations_done() % config.checkpoint_every == 0 || last || stop_signal != 0;
      if (checkpointed) {
        trainer.save_checkpoint(checkpoint_path);
        checkpointed_iteration = trainer.iterations_done();
      }
      if (options.on_iteration) options.on_iteration(metrics, trainer);
      if (stop_signal != 0 && !last) {
        throw Interrupted(stop_signal, "stopped by signal " + std::to_string(stop_signal) + " after iteration " +
                                           std::to_string(trainer.iterations_done()) +
                                           "; checkpoint saved, resume with `metarl train --resume " + options.out_dir +
                                           "`");
      }
    }
  } catch (const TrainingDiverged& e) {
    throw TrainingDiverged(std::string(e.what()) + "; " + last_good_state());
  } catch (const Interrupted&) {
    throw;
  } catch (const UsageError&) {
    throw;
  } catch (const std::exception& e) {
    const std::string allocation = allocation_failure_text(e);
    if (!allocation.empty()) {
      const IterationMemory memory = iteration_memory(config, trainer.env().spec(), trainer.local_tasks());
      throw std::runtime_error(allocation + ": one meta-iteration holds " + memory.describe() +
                               " (the autograd graph more); reduce meta_batch, rollouts, horizon or hidden_sizes; " +
                               last_good_state());
    }
    // A failure of the machine (a full disk, a lost rank): where to go on from.
    throw std::runtime_error(std::string(e.what()) + "; " + last_good_state());
  }
}

}  // namespace metarl::meta
