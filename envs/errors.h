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

}  // namespace metarl
