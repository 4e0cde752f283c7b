#pragma once
// Progress for long commands, on stderr. On a terminal one status line is
// rewritten in place (carriage return); elsewhere (a pipe, a log file, CI) every
// update is its own timestamped log line, so logs stay readable. Logging goes
// through spdlog.

#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace metarl::meta {

class ProgressReporter {
 public:
  enum class Mode { kAuto, kTerminal, kLines };

  // kAuto picks kTerminal when stderr is a terminal. quiet: updates are dropped,
  // messages still shown when `important`.
  ProgressReporter(const std::string& name, Mode mode, bool quiet);
  ~ProgressReporter();
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  // A transient status, e.g. "iter 12/300 | ...".
  void update(const std::string& status);
  // A permanent line.
  void message(const std::string& text, bool important = false);
  // Ends a status line left on the terminal.
  void finish();

  bool interactive() const { return interactive_; }

 private:
  std::shared_ptr<spdlog::logger> logger_;
  bool interactive_;
  bool quiet_;
  bool status_shown_ = false;
};

}  // namespace metarl::meta
