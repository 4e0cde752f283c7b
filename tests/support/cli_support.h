#pragma once
// Running the metarl executable from a test: its output and exit code, in the
// foreground or in the background. The including test target defines
// METARL_CLI_PATH (the built executable).

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace metarl::testing::cli {

namespace fs = std::filesystem;

struct Result {
  int exit_code = -1;
  std::string output;
};

// Runs a shell command line; its stdout and exit code.
inline Result run_shell(const std::string& command) {
  Result result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe)) result.output += buffer.data();
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// metarl's stdout and stderr together, or stdout alone (stderr discarded).
inline Result run_metarl(const std::string& arguments, bool stdout_only = false) {
  return run_shell(std::string(METARL_CLI_PATH) + " " + arguments + (stdout_only ? " 2>/dev/null" : " 2>&1"));
}

// Starts metarl in the background with stdout/stderr to `log`; returns its pid.
inline pid_t spawn_metarl(const std::vector<std::string>& arguments, const std::string& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::freopen(log.c_str(), "w", stdout);
    ::dup2(::fileno(stdout), STDERR_FILENO);
    std::vector<char*> argv{const_cast<char*>(METARL_CLI_PATH)};
    for (const auto& a : arguments) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(METARL_CLI_PATH, argv.data());
    ::_exit(127);
  }
  return pid;
}

inline int wait_exit_code(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return WIFSIGNALED(status) ? 1000 + WTERMSIG(status) : -1;
}

// Lines of a file (metrics.csv grows while we read it).
inline std::vector<std::string> lines_of(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

// Polls until metrics.csv has more than `rows` data rows (or 60 s pass).
inline bool wait_for_rows(const fs::path& metrics, size_t rows) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (lines_of(metrics).size() > rows + 1) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace metarl::testing::cli
