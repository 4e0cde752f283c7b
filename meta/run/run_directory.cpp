#include "meta/run/run_directory.h"

#include <cctype>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <sstream>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "envs/errors.h"
#include "envs/task_distribution.h"
#include "meta/checkpoint.h"
#include "meta/outer_steps.h"
#include "meta/run/seed_group.h"

namespace metarl::meta {

namespace fs = std::filesystem;

UsageError nothing_to_resume(const std::string& run_dir) {
  return UsageError("--resume '" + run_dir + "': the run holds no checkpoint (it stopped before its first); start it "
                    "again with the same command, `metarl train ... --out " + run_dir + "` (no --force needed)");
}

TrainConfig resumed_config(const std::string& run_dir) {
  std::error_code ec;
  if (fs::is_directory(run_dir, ec) && !fs::exists(fs::path(run_dir) / kCheckpointFile, ec) &&
      fs::exists(fs::path(run_dir) / kConfigFile, ec)) {
    throw nothing_to_resume(run_dir);
  }
  const CheckpointData data = load_checkpoint(run_dir);
  TrainConfig config;
  load_config_yaml(config, data.config_yaml, "config of checkpoint '" + resolve_checkpoint_path(run_dir) + "'");
  // A run recorded before the `kernels` key differentiated by autograd: it resumes the
  // same way rather than switching kernels (and rounding) half-way.
  if (!YAML::Load(data.config_yaml)["kernels"]) config.kernels = agents::Kernels::kAutograd;
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
}  // namespace

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

namespace {

// The files a training run writes at the top of its directory: --force removes them,
// and their temporaries are metarl's own.
constexpr const char* kRunFiles[] = {kCheckpointFile, kMetricsFile, kConfigFile, kTrainingEvaluationsFile};

// Whether `name` is a file metarl itself writes into a run directory with
// write_file_atomically (or probes with): the run's own files, the seed-group index,
// evaluation reports, and eval's write probe. Anything else is the user's.
bool written_by_metarl(const std::string& name) {
  for (const char* own : kRunFiles) {
    if (name == own) return true;
  }
  if (name == kSeedGroupFile || name == ".write-probe") return true;
  const std::string task_lines = ".tasks.jsonl";
  if (name.size() > task_lines.size() && name.compare(name.size() - task_lines.size(), task_lines.size(), task_lines) == 0) {
    const std::string report = name.substr(0, name.size() - task_lines.size()) + ".json";
    return is_evaluation_report(report) || is_rounds_report(report);
  }
  return is_evaluation_report(name) || is_rounds_report(name);
}

}  // namespace

bool is_evaluation_report(const std::string& name) {
  for (const auto& split : envs::split_names()) {
    for (const char* discount : {"", "_discounted"}) {
      if (name == "eval_" + split.second + discount + ".json") return true;
    }
  }
  return false;
}

bool is_rounds_report(const std::string& name) {
  for (const auto& split : envs::split_names()) {
    const std::string stem = "eval_" + split.second + "_rounds";
    if (name.compare(0, stem.size(), stem) != 0) continue;
    std::string rest = name.substr(stem.size());
    // Online segments: _online<m>, m a positive number of steps (rounds_report_path).
    const std::string online = "_online";
    if (rest.compare(0, online.size(), online) == 0) {
      size_t digits = online.size();
      while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
      if (digits == online.size() || rest[online.size()] == '0') continue;
      rest = rest.substr(digits);
      // A task changing at a random step inside each segment (task_change_step random).
      const std::string change_random = "_change_random";
      if (rest.compare(0, change_random.size(), change_random) == 0) rest = rest.substr(change_random.size());
    }
    if (rest == ".json" || rest == "_discounted.json") return true;
  }
  return false;
}

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

}  // namespace

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
  for (const char* file : kRunFiles) fs::remove(run_dir / file, ec);
  fs::remove_all(run_dir / kKeptCheckpointsDir, ec);
  fs::remove_all(run_dir / kTensorBoardDir, ec);
  for (const auto& entry : fs::directory_iterator(run_dir, ec)) {
    // Its evaluation reports (eval_*.json, eval_*.tasks.jsonl): by the names metarl
    // writes, so that a user's eval_notes.jsonl stays.
    const std::string name = entry.path().filename().string();
    if (name.rfind("eval_", 0) == 0 && written_by_metarl(name)) fs::remove(entry.path(), ec);
  }
  fs::remove_all(run_dir / "plots", ec);
}

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

}  // namespace metarl::meta
