#pragma once
// Where a meta-iteration's wall-clock time goes, phase by phase (issue N's profile;
// `metarl bench` reports it). The algorithm marks its phases with PhaseScope; only the
// thread that started the clock records, and a nested scope's time is its own, not its
// parent's. Off (the default: training, evaluation), a scope costs one atomic load. The phases are wall-clock on the recording thread: work it hands to other
// threads (TRPO's task groups) counts in the phase that waits for it; on a GPU a phase
// holds its kernel launches, not their execution, unless something synchronises.

#include <array>
#include <string>

namespace metarl::meta {

enum class Phase {
  kOther,              // outside every phase: task draws, metrics, checks
  kSampling,           // rollouts of θ and of each adapted policy
  kInnerStep,          // the adaptation steps
  kMetaGradient,       // the outer objective through the adaptation and its gradient
  kCurvatureSetup,     // TRPO: the graphs its curvature products reuse (inner gradients, ∇KL)
  kCurvatureProducts,  // TRPO: the KL Hessian-vector products of conjugate gradient
  kLineSearch,         // TRPO: the backtracking line search's evaluations
  kOuterStepRest,      // the rest of the outer step (advantages, old log-probabilities, the update)
  kCount
};
const char* phase_name(Phase phase);  // "sampling", "inner step", ...

using PhaseSeconds = std::array<double, static_cast<size_t>(Phase::kCount)>;

// Zeroes the clock and starts recording on the calling thread.
void start_phase_clock();
// Stops recording; the seconds each phase took since start_phase_clock().
PhaseSeconds stop_phase_clock();

class PhaseScope {
 public:
  explicit PhaseScope(Phase phase);
  ~PhaseScope();
  PhaseScope(const PhaseScope&) = delete;
  PhaseScope& operator=(const PhaseScope&) = delete;

 private:
  bool recording_ = false;
};

}  // namespace metarl::meta
