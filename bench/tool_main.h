#pragma once
// The exit codes the bench tools share with `metarl` (envs/errors.h): a UsageError
// exits with 2, any other std::exception with 1, each printed as "<tool>: <message>".

#include <cstdio>
#include <exception>

#include "envs/errors.h"

namespace metarl::bench {

// Runs `body` (returning the exit code on success) and maps its exceptions.
template <class Body>
int run_tool(const char* tool, Body&& body) {
  try {
    return body();
  } catch (const UsageError& error) {
    std::fprintf(stderr, "%s: %s\n", tool, error.what());
    return 2;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s: %s\n", tool, error.what());
    return 1;
  }
}

}  // namespace metarl::bench
