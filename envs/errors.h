#pragma once
// Error kinds shared by every layer. The command line maps UsageError to exit code 2
// (the user asked for something invalid: a name, a value, a file) and every other
// std::exception to exit code 1 (a runtime failure).

#include <stdexcept>
#include <string>
#include <utility>

namespace metarl {

// A value a user gave, fit to quote in a message: control characters escaped (a
// config's terminal escape must not reach the terminal), and at most `limit` bytes of
// it, the rest counted (a 50 MB value must not become a 50 MB message).
inline std::string quoted_value(const std::string& value, size_t limit = 120) {
  static const char* const kHex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < value.size() && i < limit; ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (value.size() > limit) out += "... (" + std::to_string(value.size()) + " bytes)";
  return out;
}

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An environment's own code failed (a plug-in's reset or step threw, a Python
// environment raised): running the same config again fails the same way, so a message
// names the environment and what it was doing instead of advising a retry.
class EnvironmentError : public std::runtime_error {
 public:
  EnvironmentError(std::string env, const std::string& what) : std::runtime_error(what), env_(std::move(env)) {}
  const std::string& env() const { return env_; }

 private:
  std::string env_;
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
