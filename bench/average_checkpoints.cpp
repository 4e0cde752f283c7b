// Does the outer step's noise cost return? A run whose θ and α are the mean of
// several checkpoints of one training run (iterate averaging), to evaluate with
// `metarl eval` beside the checkpoints themselves (docs/results.md).
//
//   build/bench/average_checkpoints OUT_DIR CHECKPOINT...
//
// Every checkpoint must come from the same kind of run (algorithm, architecture,
// environment); the copy takes the first one's config and iteration. It holds θ, α
// and the config, not the optimiser state: it evaluates, it does not resume. OUT_DIR
// must not exist; it appears whole or not at all.
#include <cstdio>
#include <string>
#include <vector>

#include "bench/tool_main.h"
#include "envs/errors.h"
#include "meta/checkpoint.h"

using namespace metarl;

int main(int argc, char** argv) {
  return bench::run_tool("average_checkpoints", [&] {
    if (argc < 4) throw UsageError("usage: average_checkpoints OUT_DIR CHECKPOINT CHECKPOINT...");
    auto mean = meta::load_checkpoint(argv[2]);
    for (int i = 3; i < argc; ++i) {
      const auto other = meta::load_checkpoint(argv[i]);
      if (other.algorithm != mean.algorithm || other.architecture != mean.architecture || other.env != mean.env) {
        throw UsageError("checkpoint '" + std::string(argv[i]) + "' is a " + meta::to_string(other.algorithm) + " run of " + other.env + " (" +
                         other.architecture + "); '" + argv[2] + "' is a " + meta::to_string(mean.algorithm) + " run of " + mean.env + " (" +
                         mean.architecture + ")");
      }
      // Same algorithm and architecture: the same tensors in θ and in α.
      for (size_t t = 0; t < mean.theta.size(); ++t) mean.theta[t] = mean.theta[t] + other.theta[t];
      for (size_t t = 0; t < mean.alpha.size(); ++t) mean.alpha[t] = mean.alpha[t] + other.alpha[t];
    }
    const double count = argc - 2;
    for (auto& p : mean.theta) p = p / count;
    for (auto& a : mean.alpha) a = a / count;
    meta::write_parameter_copy(argv[1], mean);
    std::printf("%s: mean of %d checkpoints\n", argv[1], argc - 2);
    return 0;
  });
}
