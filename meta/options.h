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

}  // namespace metarl::meta
