#include "meta/phase_clock.h"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace metarl::meta {

namespace {

using Clock = std::chrono::steady_clock;

struct PhaseClockState {
  std::atomic<bool> on{false};
  std::thread::id owner;
  std::vector<Phase> open;  // the scopes open on the owner thread, innermost last
  Clock::time_point last;   // when the innermost open phase (or kOther) last began counting
  PhaseSeconds seconds{};
};

PhaseClockState& state() {
  static PhaseClockState clock;
  return clock;
}

// Charges the time since the last mark to the innermost open phase.
void charge(PhaseClockState& clock, Clock::time_point now) {
  const Phase current = clock.open.empty() ? Phase::kOther : clock.open.back();
  clock.seconds[static_cast<size_t>(current)] += std::chrono::duration<double>(now - clock.last).count();
  clock.last = now;
}

}  // namespace

const char* phase_name(Phase phase) {
  switch (phase) {
    case Phase::kOther: return "other";
    case Phase::kSampling: return "sampling";
    case Phase::kInnerStep: return "inner step";
    case Phase::kMetaGradient: return "meta-gradient";
    case Phase::kCurvatureSetup: return "curvature set-up";
    case Phase::kCurvatureProducts: return "curvature products";
    case Phase::kLineSearch: return "line search";
    case Phase::kOuterStepRest: return "outer step, rest";
    case Phase::kCount: break;
  }
  return "?";
}

void start_phase_clock() {
  auto& clock = state();
  clock.owner = std::this_thread::get_id();
  clock.open.clear();
  clock.seconds.fill(0.0);
  clock.last = Clock::now();
  clock.on.store(true, std::memory_order_release);  // after `owner`: a scope that sees it on sees its owner
}

PhaseSeconds stop_phase_clock() {
  auto& clock = state();
  charge(clock, Clock::now());
  clock.on.store(false, std::memory_order_relaxed);
  return clock.seconds;
}

PhaseScope::PhaseScope(Phase phase) {
  auto& clock = state();
  if (!clock.on.load(std::memory_order_acquire) || std::this_thread::get_id() != clock.owner) return;
  recording_ = true;
  charge(clock, Clock::now());
  clock.open.push_back(phase);
}

PhaseScope::~PhaseScope() {
  auto& clock = state();
  if (!recording_ || !clock.on.load(std::memory_order_relaxed)) return;
  charge(clock, Clock::now());
  if (!clock.open.empty()) clock.open.pop_back();
}

}  // namespace metarl::meta
