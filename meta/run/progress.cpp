#include "meta/run/progress.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>

namespace metarl::meta {

ProgressReporter::ProgressReporter(const std::string& name, Mode mode, bool quiet)
    : logger_(std::make_shared<spdlog::logger>(name, std::make_shared<spdlog::sinks::stderr_sink_st>())),
      interactive_(mode == Mode::kTerminal || (mode == Mode::kAuto && ::isatty(STDERR_FILENO) == 1)),
      quiet_(quiet) {
  logger_->set_pattern("[%H:%M:%S] %v");
}

ProgressReporter::~ProgressReporter() { finish(); }

void ProgressReporter::update(const std::string& status) {
  if (quiet_) return;
  if (!interactive_) {
    logger_->info("{}", status);
    return;
  }
  // \r returns to the line start, ESC[2K clears it: the new status replaces the old.
  std::fprintf(stderr, "\r\033[2K%s", status.c_str());
  std::fflush(stderr);
  status_shown_ = true;
}

void ProgressReporter::message(const std::string& text, bool important) {
  if (quiet_ && !important) return;
  finish();
  logger_->info("{}", text);
}

void ProgressReporter::finish() {
  if (!status_shown_) return;
  std::fprintf(stderr, "\n");
  std::fflush(stderr);
  status_shown_ = false;
}

}  // namespace metarl::meta
