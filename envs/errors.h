#pragma once
// Error kinds shared by every layer. The command line maps UsageError to exit code 2
// (the user asked for something invalid: a name, a value, a file) and every other
// std::exception to exit code 1 (a runtime failure).

#include <stdexcept>
#include <string>

namespace metarl {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The user stopped a run (SIGINT or SIGTERM) and its state was saved first. The
// command line exits with 128 + signal, the shell convention.
class Interrupted : public std::runtime_error {
 public:
  Interrupted(int signal_number, const std::string& what) : std::runtime_error(what), signal_(signal_number) {}
  int signal_number() const { return signal_; }

 private:
  int signal_;
};

}  // namespace metarl
