// Which of Meta-SGD's learned step sizes matter: a copy of a run whose α is edited per
// parameter tensor, to evaluate with `metarl eval` beside the original
// (docs/results.md, "What bounds it").
//
//   build/bench/alpha_ablation RUN_DIR                    prints θ and α per tensor
//   build/bench/alpha_ablation RUN_DIR OUT_DIR EDIT...    writes the edited copy
//
// EDIT is INDEX*FACTOR (scale that tensor's α; quote it in a shell, * is a glob) or
// INDEX=VALUE (set every entry), with INDEX a tensor index from the listing or `all`.
// Edits apply left to right: `all=0.1 5=1.36` sets every α to 0.1, then tensor 5's to
// 1.36. The copy holds θ, α and the config, not the optimiser state: it evaluates, it
// does not resume. OUT_DIR must not exist; it appears whole or not at all.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "bench/tool_main.h"
#include "envs/errors.h"
#include "meta/checkpoint.h"

using namespace metarl;

namespace {

struct AlphaEdit {
  int tensor = -1;  // -1: every tensor
  bool scale = false;
  double value = 0.0;
};

AlphaEdit parse_edit(const std::string& text, int tensors) {
  const auto op = text.find_first_of("*=");
  if (op == std::string::npos || op == 0 || op + 1 == text.size()) {
    throw UsageError("edit '" + text + "': expected INDEX*FACTOR or INDEX=VALUE (INDEX a tensor index or 'all')");
  }
  AlphaEdit edit;
  edit.scale = text[op] == '*';
  const std::string index = text.substr(0, op);
  try {
    size_t used = 0;
    edit.value = std::stod(text.substr(op + 1), &used);
    if (used != text.size() - op - 1) throw std::invalid_argument("trailing characters");
    if (index != "all") {
      edit.tensor = std::stoi(index, &used);
      if (used != index.size()) throw std::invalid_argument("trailing characters");
    }
  } catch (const std::exception&) {
    throw UsageError("edit '" + text + "': expected INDEX*FACTOR or INDEX=VALUE with numbers, e.g. 4*0.5 or all=0.1");
  }
  if (index != "all" && (edit.tensor < 0 || edit.tensor >= tensors)) {
    throw UsageError("edit '" + text + "': tensor index " + index + " is out of range; the run has " +
                     std::to_string(tensors) + " tensors (0.." + std::to_string(tensors - 1) + ")");
  }
  return edit;
}

void print_tensors(const meta::CheckpointData& run) {
  std::printf("%s run, %lld iterations, architecture %s\n", meta::to_string(run.algorithm).c_str(), static_cast<long long>(run.iteration),
              run.architecture.c_str());
  std::printf("%5s %-12s %10s %10s %10s %10s %10s\n", "index", "shape", "theta mean", "|theta|max", "alpha mean",
              "alpha min", "alpha max");
  for (size_t i = 0; i < run.theta.size(); ++i) {
    std::string shape;
    for (auto size : run.theta[i].sizes()) shape += (shape.empty() ? "" : "x") + std::to_string(size);
    const auto& alpha = run.alpha[i];
    std::printf("%5zu %-12s %10.4f %10.4f %10.4f %10.4f %10.4f\n", i, shape.c_str(),
                run.theta[i].mean().item<double>(), run.theta[i].abs().max().item<double>(),
                alpha.mean().item<double>(), alpha.min().item<double>(), alpha.max().item<double>());
  }
}

}  // namespace

int main(int argc, char** argv) {
  return bench::run_tool("alpha_ablation", [&] {
    if (argc != 2 && argc < 4) {
      throw UsageError("usage: alpha_ablation RUN_DIR [OUT_DIR EDIT...], EDIT = INDEX*FACTOR or INDEX=VALUE");
    }
    auto run = meta::load_checkpoint(argv[1]);
    if (run.algorithm != meta::Algorithm::kMetaSgd) {
      throw UsageError("run '" + std::string(argv[1]) + "' is a " + meta::to_string(run.algorithm) +
                       " run; only meta-sgd learns a step size per parameter");
    }
    if (argc == 2) {
      print_tensors(run);
      return 0;
    }
    for (int i = 3; i < argc; ++i) {
      const auto edit = parse_edit(argv[i], static_cast<int>(run.alpha.size()));
      for (size_t t = 0; t < run.alpha.size(); ++t) {
        if (edit.tensor >= 0 && static_cast<size_t>(edit.tensor) != t) continue;
        run.alpha[t] = edit.scale ? run.alpha[t] * edit.value : torch::full_like(run.alpha[t], edit.value);
      }
    }
    meta::write_parameter_copy(argv[2], run);
    print_tensors(run);
    return 0;
  });
}
