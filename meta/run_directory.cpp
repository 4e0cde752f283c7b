#include "meta/run_directory.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <vector>

#include "envs/errors.h"
#include "envs/registry.h"
#include "meta/checkpoint.h"
#include "meta/evaluation.h"
#include "meta/experiment.h"
#include "meta/outer_step.h"
#include "meta/runtime.h"
#include "meta/seed_group.h"
#include "meta/tensorboard.h"
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
  if (outer_step_entry(resumed.optimizer).traits.follows_outer_lr && resumed.outer_lr_decay != OuterLrDecay::kNone) {
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

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> cells;
  size_t start = 0;
  while (true) {
    const size_t comma = line.find(',', start);
    cells.push_back(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) return cells;
    start = comma + 1;
  }
}

// What a resumed run's metrics.csv goes on with: its own columns (a run started by an
// older metarl keeps its header; its rows get only those columns) and its totals.
struct MetricsHistory {
  std::vector<std::string> columns;
  std::int64_t env_steps = 0;
  double wall_clock = 0.0;
};

// metrics.csv of a resumed run: its rows must be iterations 1..covered, in order (rows
// after them are work a crash lost, dropped here). A row missing is history lost:
// refused, not papered over.
MetricsHistory keep_metrics_up_to(const fs::path& run_dir, const fs::path& metrics_path, int covered) {
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
  MetricsHistory history;
  {
    std::ifstream in(metrics_path);
    std::string header;
    std::getline(in, header);
    history.columns = split_csv_line(header);
  }
  std::string kept;
  for (const auto& column : history.columns) kept += (kept.empty() ? "" : ",") + column;
  kept += "\n";
  for (int i = 0; i < covered; ++i) kept += rows.lines[static_cast<size_t>(i)] + "\n";
  write_file_atomically(metrics_path.string(), kept);
  // The totals of the last kept row; an older file without them sums its seconds, and
  // its environment steps are unknown (-1), not counted from 0.
  if (std::find(history.columns.begin(), history.columns.end(), "env_steps") == history.columns.end()) {
    history.env_steps = -1;
  }
  const auto column_of = [&](const std::string& name) {
    return static_cast<size_t>(std::find(history.columns.begin(), history.columns.end(), name) -
                               history.columns.begin());
  };
  double seconds = 0.0;
  for (int i = 0; i < covered; ++i) {
    const auto cells = split_csv_line(rows.lines[static_cast<size_t>(i)]);
    const size_t s = column_of("seconds");
    if (s < cells.size() && !cells[s].empty()) seconds += std::stod(cells[s]);
    if (i + 1 < covered) continue;
    const size_t steps = column_of("env_steps");
    const size_t clock = column_of("wall_clock");
    if (steps < cells.size() && !cells[steps].empty()) history.env_steps = std::stoll(cells[steps]);
    history.wall_clock = clock < cells.size() && !cells[clock].empty() ? std::stod(cells[clock]) : seconds;
  }
  return history;
}

// eval_during_training.csv of a resumed run: its rows up to the checkpoint (later ones
// belong to iterations the resume runs again).
void keep_training_evaluations_up_to(const fs::path& path, int covered) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return;
  std::ifstream in(path);
  std::string line;
  std::string kept;
  if (std::getline(in, line)) kept = line + "\n";
  while (std::getline(in, line)) {
    try {
      if (std::stoi(line.substr(0, line.find(','))) > covered) break;
    } catch (const std::exception&) {
      break;
    }
    kept += line + "\n";
  }
  write_file_atomically(path.string(), kept);
}

// eval_every's evaluation of the checkpoint just written: `metarl eval`'s protocol,
// its default seed (the same tasks at every evaluation), every process its share.
EvalReport evaluate_during_training(const TrainConfig& config, const std::string& checkpoint_path,
                                    const Collectives& collectives) {
  EvalOptions options;
  options.checkpoints = {checkpoint_path};
  options.split = config.eval_split;
  options.tasks = config.eval_tasks;
  options.rollouts = config.eval_rollouts;
  options.steps = config.eval_steps;
  options.device = config.device;
  options.env_on_device = config.env_on_device;
  options.threads = config.threads;
  return evaluate(options, {}, collectives);
}

std::string training_evaluation_header(int steps) {
  std::string header = "iteration,env_steps,split,tasks,rollouts";
  for (int step = 0; step <= steps; ++step) {
    header += ",return_step_" + std::to_string(step) + ",ci95_step_" + std::to_string(step);
  }
  for (int step = 1; step <= steps; ++step) {
    header += ",gain_step_" + std::to_string(step) + ",gain_ci95_step_" + std::to_string(step);
  }
  return header;
}

std::string training_evaluation_row(int iteration, std::int64_t env_steps, const EvalReport& report) {
  std::string row = std::to_string(iteration) + "," + (env_steps < 0 ? "" : std::to_string(env_steps)) + "," +
                    report.split + "," +
                    std::to_string(report.tasks) + "," + std::to_string(report.rollouts);
  char cell[64];
  const MethodCurve& curve = report.methods.front();
  for (size_t step = 0; step < curve.mean.size(); ++step) {
    std::snprintf(cell, sizeof(cell), ",%.6g,%.6g", curve.mean[step], curve.ci95[step]);
    row += cell;
  }
  for (size_t step = 1; step < curve.gain_mean.size(); ++step) {
    std::snprintf(cell, sizeof(cell), ",%.6g,%.6g", curve.gain_mean[step], curve.gain_ci95[step]);
    row += cell;
  }
  return row;
}

// checkpoints/iteration-N.pt: a copy of the checkpoint, written atomically.
void keep_checkpoint_copy(const fs::path& run_dir, const std::string& checkpoint_path, int iteration) {
  const fs::path kept_dir = run_dir / kKeptCheckpointsDir;
  fs::create_directories(kept_dir);
  std::ifstream in(checkpoint_path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  if (!in) throw std::runtime_error("cannot read '" + checkpoint_path + "' to keep a copy of it");
  write_file_atomically((kept_dir / kept_checkpoint_name(iteration)).string(), bytes.str());
}

// The config keys that set the step sizes, with their values, for a run that diverged:
// a run with the same config diverges again.
std::string divergence_advice(const TrainConfig& config) {
  std::string keys = "inner_lr " + config_values::format_real(config.inner_lr);
  for (const auto& key : outer_step_entry(config.optimizer).traits.step_size_keys) {
    if (key == "alpha_lr_scale" && config.algo != Algorithm::kMetaSgd) continue;  // scales a learned α only
    keys += ", " + key + " " + train_config_schema().find(key)->get(config);
  }
  return "the step sizes are too large for this problem: lower " + keys + " (config keys; --set KEY=VALUE)";
}

// Whether `name` is a file metarl itself writes into a run directory with
// write_file_atomically (or probes with): the run's own files, the seed-group index,
// evaluation reports, and eval's write probe. Anything else is the user's.
bool written_by_metarl(const std::string& name) {
  for (const char* own : {kCheckpointFile, kMetricsFile, kConfigFile, kTrainingEvaluationsFile, kSeedGroupFile,
                          ".write-probe"}) {
    if (name == own) return true;
  }
  auto ends_with = [&](const std::string& suffix) {
    return name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return name.rfind("eval_", 0) == 0 && (ends_with(".json") || ends_with(".tasks.jsonl"));
}

}  // namespace

void check_can_be_directory(const std::string& option, const std::string& dir) {
  // The nearest part of the path that exists must be a directory: `afile` and
  // `afile/sub` are the same mistake.
  std::error_code ec;
  for (fs::path part = fs::path(dir); !part.empty(); part = part.parent_path()) {
    if (fs::exists(part, ec)) {
      if (fs::is_directory(part, ec)) return;
      throw UsageError(option + " '" + dir + "': " +
                       (part == fs::path(dir) ? std::string("it") : "'" + part.string() + "'") +
                       " exists and is not a directory");
    }
    if (part == part.parent_path()) return;
  }
}

bool is_stale_temporary(const std::string& name, bool (*process_alive)(long pid)) {
  // NAME.tmp.PID: metarl's own NAME, a process id of at most 9 digits, that process gone.
  const auto at = name.rfind(".tmp.");
  if (at == std::string::npos || at == 0) return false;
  const std::string pid_text = name.substr(at + 5);
  if (pid_text.empty() || pid_text.size() > 9 || pid_text.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  if (!written_by_metarl(name.substr(0, at))) return false;
  return !process_alive(std::stol(pid_text));
}

namespace {

bool process_alive(long pid) {
  if (pid == static_cast<long>(::getpid())) return true;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;  // EPERM: alive, not ours to judge
}

// Temporary files of an atomic write (NAME.tmp.PID) that a crash or a kill left: those
// of metarl's own files whose process is gone. A live process's (an eval writing beside
// a run) are its own, and a user's look-alike (paper.tmp.final, notes.tmp.2) stays.
void remove_stale_temporaries(const fs::path& run_dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(run_dir, ec)) {
    if (!entry.is_regular_file(ec)) continue;
    if (is_stale_temporary(entry.path().filename().string(), process_alive)) fs::remove(entry.path(), ec);
  }
}

// What a run writes into its directory; --force removes every one of them that a
// previous run left, so that nothing of it (an evaluation of another environment, its
// plots) survives into the new one. Other files are the user's and stay.
void remove_previous_run(const fs::path& run_dir) {
  std::error_code ec;
  for (const char* file : {kCheckpointFile, kMetricsFile, kConfigFile, kTrainingEvaluationsFile}) {
    fs::remove(run_dir / file, ec);
  }
  fs::remove_all(run_dir / kKeptCheckpointsDir, ec);
  fs::remove_all(run_dir / kTensorBoardDir, ec);
  for (const auto& entry : fs::directory_iterator(run_dir, ec)) {
    const std::string name = entry.path().filename().string();
    const bool report = entry.path().extension() == ".json" || entry.path().extension() == ".jsonl";
    if (name.rfind("eval_", 0) == 0 && report) fs::remove(entry.path(), ec);
  }
  fs::remove_all(run_dir / "plots", ec);
}

}  // namespace

std::string kept_checkpoint_name(int iteration) {
  char name[64];
  std::snprintf(name, sizeof(name), "iteration-%06d.pt", iteration);
  return name;
}

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
    check_can_be_directory("--out", options.out_dir);
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
  const fs::path evaluations_path = run_dir / kTrainingEvaluationsFile;
  MetricsHistory history;
  history.columns = IterationMetrics::csv_columns(config.inner_steps);
  on_rank0([&] {
    if (options.resume) {
      history = keep_metrics_up_to(run_dir, metrics_path, trainer.iterations_done());
      keep_training_evaluations_up_to(evaluations_path, trainer.iterations_done());
      // The same config, or one extended by extended_config: config.yaml says what the run does.
      write_file_atomically((run_dir / kConfigFile).string(), to_yaml(config));
    } else {
      // --force, or a run that stopped before its first checkpoint (config.yaml and
      // metrics.csv, nothing to resume): its files make way for this run.
      remove_previous_run(run_dir);
      write_file_atomically((run_dir / kConfigFile).string(), to_yaml(config));
      write_file_atomically(metrics_path.string(), IterationMetrics::csv_header(config.inner_steps) + "\n");
    }
    if (config.eval_every > 0 && !fs::exists(evaluations_path, ec)) {
      write_file_atomically(evaluations_path.string(), training_evaluation_header(config.eval_steps) + "\n");
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
  // A new event file per session (TensorBoard reads every file of the folder in name
  // order); a resume's steps continue the run's.
  std::unique_ptr<TensorBoardWriter> tensorboard;
  if (writes && config.tensorboard) tensorboard = std::make_unique<TensorBoardWriter>((run_dir / kTensorBoardDir).string());
  auto unix_time = [] {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  };
  if (options.on_start) options.on_start();
  int checkpointed_iteration = options.resume ? trainer.iterations_done() : 0;
  // Where the last good state is, for the message of a failure that may not repeat (a
  // full disk, a lost rank): the same command again goes on from there.
  auto last_good_state = [&] {
    if (checkpointed_iteration > 0) {
      return "the last checkpoint (iteration " + std::to_string(checkpointed_iteration) +
             ") holds the last good state; resume with `metarl train --resume " + options.out_dir + "`";
    }
    return std::string("no checkpoint was written yet: start the run again with the same command (no --force "
                       "needed)");
  };
  // A failure that repeats (the same config diverges at the same iteration, a resume
  // repeats the same steps; an environment throws the same way): what to change, and
  // what of the run is still worth having.
  auto what_is_kept = [&] {
    if (checkpointed_iteration > 0) {
      return "the last checkpoint (iteration " + std::to_string(checkpointed_iteration) +
             ") holds the last good state (`metarl eval " + options.out_dir +
             "` evaluates it); a resume repeats the same steps, so start a new run (another --out, or --force)";
    }
    return std::string("no checkpoint was written yet, so the same command fails the same way; start again with "
                       "the changed config (no --force needed)");
  };
  try {
    while (trainer.iterations_done() < config.iterations) {
      IterationMetrics metrics = trainer.run_iteration();
      if (history.env_steps >= 0) history.env_steps += metrics.iteration_env_steps;
      history.wall_clock += metrics.seconds;
      metrics.env_steps = history.env_steps;
      metrics.wall_clock = history.wall_clock;
      if (writes) {
        metrics_file << metrics.csv_row(history.columns) + "\n" << std::flush;
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
      const int done = trainer.iterations_done();
      const bool kept = config.keep_checkpoints > 0 && done % config.keep_checkpoints == 0;
      const bool evaluated = config.eval_every > 0 && done % config.eval_every == 0;
      // A kept copy and an evaluation are of a checkpoint: one is written for them.
      const bool checkpointed = done % config.checkpoint_every == 0 || last || stop_signal != 0 || kept || evaluated;
      if (checkpointed) {
        trainer.save_checkpoint(checkpoint_path);
        checkpointed_iteration = done;
      }
      if (kept && writes) keep_checkpoint_copy(run_dir, checkpoint_path, done);
      if (tensorboard) tensorboard->add_scalars(metrics.scalars(), done, unix_time());
      if (evaluated) {
        // Every process reads the checkpoint rank 0 has just written.
        if (collectives.distributed()) all_reduce_sum(collectives, 0.0, "the checkpoint to evaluate");
        const EvalReport report = evaluate_during_training(config, checkpoint_path, collectives);
        if (writes) {
          std::ofstream evaluations(evaluations_path, std::ios::app);
          evaluations << training_evaluation_row(done, metrics.env_steps, report) + "\n" << std::flush;
          if (!evaluations) {
            throw std::runtime_error("cannot append to '" + evaluations_path.string() + "': " + std::strerror(errno));
          }
        }
        if (tensorboard) {
          const MethodCurve& curve = report.methods.front();
          std::vector<std::pair<std::string, double>> values;
          for (size_t step = 0; step < curve.mean.size(); ++step) {
            values.push_back({"eval_" + report.split + "/return_step_" + std::to_string(step), curve.mean[step]});
          }
          tensorboard->add_scalars(values, done, unix_time());
        }
      }
      if (tensorboard) tensorboard->flush();
      if (options.on_iteration) options.on_iteration(metrics, trainer);
      if (stop_signal != 0 && !last) {
        throw Interrupted(stop_signal, "stopped by signal " + std::to_string(stop_signal) + " after iteration " +
                                           std::to_string(trainer.iterations_done()) +
                                           "; checkpoint saved, resume with `metarl train --resume " + options.out_dir +
                                           "`");
      }
    }
  } catch (const TrainingDiverged& e) {
    throw TrainingDiverged(std::string(e.what()) + "; " + divergence_advice(config) + "; " + what_is_kept());
  } catch (const EnvironmentError& e) {
    throw EnvironmentError(e.env(), std::string(e.what()) + "; the environment '" + e.env() +
                                        "' fails the same way on the same tasks and seed: " +
                                        envs::conformance_command(e.env()) + " runs its conformance checks; fix it, "
                                        "then " + (checkpointed_iteration > 0 ? "resume with `metarl train --resume " +
                                                                                    options.out_dir + "`"
                                                                              : std::string("start the run again")));
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
