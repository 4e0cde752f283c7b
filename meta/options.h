#pragma once
// The meta-learner's options as plain data: what a config sets and meta/ reads.
// Torch-free, like agents/options.h. Each enum has one table of names
// (envs/enum_names.h); the outer step is chosen by name from a registry instead
// (meta/outer_step.h), so a new one needs no enum.

#include <string>

#include "envs/enum_names.h"

namespace metarl::meta {

// kPretrained and kRandom are the baselines every evaluation compares against: one
// policy trained by policy gradient on the whole task distribution (no adaptation
// in training), and a random initialisation (no training at all). Both adapt at
// evaluation like MAML: plain policy-gradient steps with a fixed scalar step size.
enum class Algorithm { kMetaSgd, kMaml, kPretrained, kRandom };
const EnumNames<Algorithm>& algorithm_names();  // meta-sgd, maml, pretrained, random
std::string to_string(Algorithm algorithm);
// Throws UsageError naming the value and the choices.
Algorithm parse_algorithm(const std::string& name);

// The outer step size over a run: constant, or decaying to 0 over the planned
// iterations (linearly, or as half a cosine).
enum class OuterLrDecay { kNone, kLinear, kCosine };
const EnumNames<OuterLrDecay>& outer_lr_decay_names();  // none, linear, cosine
std::string to_string(OuterLrDecay decay);

// TRPO's outer step (meta/trpo.h, meta/outer_trpo.h); defaults of MAML and pytorch-maml-rl.
struct TrpoOptions {
  double max_kl = 0.01;            // trust region radius (nats, mean over post-adaptation states)
  int cg_iterations = 10;          // conjugate-gradient iterations for H⁻¹g
  double cg_damping = 1e-5;        // Tikhonov damping: (H + damping·I) v
  int line_search_steps = 15;      // backtracking attempts before giving up on the iteration
  double line_search_ratio = 0.8;  // step scale factor per attempt
};

// ProMP's outer step (Rothfuss et al. 2019; meta/outer_promp.h). Defaults are those of
// the paper's code for its point-mass and MuJoCo runs (run_scripts/pro-mp_run_*.py):
// clip 0.3, 5 steps per batch, a fixed KL coefficient 5e-4 (adaptive off, target 0.01);
// its Adam step size 1e-3 is `outer_lr`.
struct PrompOptions {
  double clip = 0.3;            // ε: the likelihood ratio of the adapted policies is clipped to [1 − ε, 1 + ε]
  int epochs = 5;               // outer gradient steps on each batch of samples (no re-sampling between)
  double kl_penalty = 5e-4;     // η: weight of KL(π_old ‖ π) of every inner step's policy on its own rollouts
  bool adaptive_kl = false;     // halve η when that KL < target/1.5, double it when > 1.5·target, per iteration
  double target_kl = 0.01;      // the target of adaptive_kl (nats)
};

}  // namespace metarl::meta
