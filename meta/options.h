#pragma once
// The meta-learner's options as plain data: what a config sets and meta/ reads.
// Torch-free, like agents/options.h. Each enum has one table of names
// (envs/enum_names.h); the outer step is chosen by name from a registry instead
// (meta/outer_step.h), so a new one needs no enum.

#include <string>

#include "envs/enum_names.h"
#include "envs/task_distribution.h"

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

// Where a run or an evaluation computes. Its numbers do not depend on the thread
// counts; the device and the BLAS kernels decide how they round.
struct RuntimeOptions {
  std::string device = "cpu";  // cpu | cuda | cuda:N
  // Step the environment's device twin where the policy runs (agents/device_env.h:
  // point-nav, cartpole, pendulum) instead of the native environment on the CPU. The
  // same rollouts (bit for bit on the CPU for point-nav and cartpole); on a GPU no host
  // round trip per step.
  bool env_on_device = false;
  // Torch intra-op threads; 0 → one per core. 1 by default: at the paper's sizes a
  // meta-iteration took 0.50 s with 1 thread and 0.88 s with 2 on the 2-core
  // reference machine (OpenMP hand-offs dominate these small ops; docs/benchmarks.md).
  int threads = 1;
  // Which BLAS kernels compute (meta/parallel/blas_kernels.h): auto (the fastest this
  // CPU supports when OpenBLAS did not recognise it), openblas (OpenBLAS's own choice)
  // or a core by name (haswell: the same products on every AVX2 CPU).
  std::string blas_kernels = "auto";
};

// Training's runtime: RuntimeOptions and the thread groups only training has.
struct TrainingRuntime : RuntimeOptions {
  // CPU threads that each take a group of tasks in the TRPO curvature products (tasks
  // are independent there); 0 → one per core. Results are identical for a given
  // value; the groups' sums are added in a fixed order.
  int workers = 0;
  // Threads that share an environment step over row ranges, when a step takes long
  // enough to pay for it (envs::BatchedEnv::set_step_threads); 0 → one per core.
  // Rollouts do not depend on it.
  int env_threads = 0;
};

// How adaptation is measured: `metarl eval`'s protocol, and eval_every's during
// training (each with its own defaults).
struct EvaluationProtocol {
  envs::Split split = envs::Split::kTest;
  int tasks = 40;     // tasks drawn from `split`
  int rollouts = 40;  // per task and adaptation step
  int steps = 3;      // adaptation steps k: returns are reported for 0..k
};

// Evaluation during training: every N iterations (0: never) the adaptation of the
// current policy is evaluated on fresh tasks (metarl eval's protocol and seed, so every
// evaluation sees the same tasks) into eval_during_training.csv. It draws on streams of
// its own: training is the same with or without it.
struct TrainingEvaluation {
  int every = 0;
  EvaluationProtocol protocol{envs::Split::kHeldOut, 20, 20, 1};
};

// What a run keeps of itself in its directory besides metrics.csv.
struct RunBookkeeping {
  int checkpoint_every = 10;  // iterations between checkpoints (and one at the end)
  // Every N iterations a copy of the checkpoint stays as checkpoints/iteration-N.pt
  // (0: only the latest checkpoint.pt), so that learning can be evaluated over time.
  int keep_checkpoints = 0;
  // TensorBoard event files in RUN_DIR/tensorboard/: a scalar per metrics.csv column
  // (meta/run/tensorboard.h), and eval_every's returns.
  bool tensorboard = false;
};

}  // namespace metarl::meta
