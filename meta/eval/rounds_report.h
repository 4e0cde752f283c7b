#pragma once
// What `metarl eval --rounds K` reports: the return of every round of a non-stationary
// task sequence (envs/task_process.h) for each method under each adaptation mode, the
// paired differences between modes and between methods, seed groups summarised across
// seeds per mode, and their renderings — JSON
// (printed with --json, kept as RUN_DIR/eval_<split>_rounds.json), per-sequence JSON
// lines and the table. meta/eval/rounds_evaluation.h computes them.

#include <cstdint>
#include <string>
#include <vector>

#include "envs/enum_names.h"
#include "envs/task_process.h"

namespace metarl::meta {

// How a policy follows the sequence. Round 1 acts with θ in every mode; after round r:
//   continuous  φ_{r+1} = φ_r − α ⊙ ∇L(φ_r; round r's rollouts): adaptation goes on from
//               the previous round's adapted policy;
//   restart     φ_{r+1} = θ − α ⊙ ∇L(θ; round r's rollouts), importance-weighted per step
//               by min(π_θ/π_{φ_r}, 1) (the rollouts are φ_r's; truncated as V-trace's
//               ρ̄ = 1): adaptation from θ each round, the execution-time rule of
//               Al-Shedivat et al. (ICLR 2018);
//   none        θ every round (no adaptation; for a pretrained run, the pretrained policy).
enum class AdaptationMode { kContinuous, kRestart, kNone };
const EnumNames<AdaptationMode>& adaptation_mode_names();  // continuous, restart, none
std::string to_string(AdaptationMode mode);

struct RoundsCurve {
  std::string name;    // "<method> <mode>", e.g. "meta-sgd continuous"
  std::string method;  // the method's name as in step reports: "meta-sgd", "maml (runs/b)", "random"
  std::string mode;    // continuous, restart, none
  // Provenance, as MethodCurve's.
  std::string algorithm;
  std::string run;
  std::int64_t checkpoint_iteration = -1;
  std::string checkpoint_checksum;
  // [K − 1] the step size of the adaptation after round r (fixed-α methods and the α
  // ablation's mean); empty for Meta-SGD's learned α and for mode none.
  std::vector<double> step_sizes;
  bool learned_alpha = false;  // adapts with Meta-SGD's learned α ("learned" in the JSON)
  std::vector<double> mean;  // [K] mean over sequences of round r's per-sequence mean return
  std::vector<double> ci95;  // [K] 1.96 · std / √sequences
  std::vector<std::vector<double>> sequence_returns;  // [K][sequences]
  // Rounds 2..K, where the modes differ: each sequence's mean over those rounds, then
  // mean and 95% half-width over sequences (equal to round 1's when K = 1).
  double later_mean = 0.0;
  double later_ci95 = 0.0;
  // [K] the share of round r's rollouts whose episode had ended before the round began:
  // with online segments (adapt_every) an ended episode's later rounds are padding,
  // return 0, whatever the task became; 0 for every round of whole episodes.
  std::vector<double> ended_before;
};

// Two curves compared sequence by sequence: a − b on the same task sequence and the same
// random numbers, per round and over rounds 2..K.
struct RoundsComparison {
  std::string a;
  std::string b;
  std::vector<double> mean;  // [K]
  std::vector<double> ci95;  // [K]
  double later_mean = 0.0;
  double later_ci95 = 0.0;
};

// A seed group under one mode: its seeds' curves (each seed evaluated as a method on the
// same sequences) summarised across seeds, the seed being the unit: each seed's mean
// over sequences is one value.
struct RoundsGroupCurve {
  std::string name;   // "meta-sgd continuous (runs/x, 2 seeds)"
  std::string group;  // the group directory as given
  std::string mode;   // continuous, restart, none
  std::vector<std::uint64_t> seeds;
  std::vector<std::string> members;              // the seeds' curve names, in seed order
  std::vector<std::vector<double>> seed_means;   // [seeds][K] each seed's mean over sequences
  std::vector<double> seed_later_means;          // [seeds] each seed's mean over rounds 2..K
  std::vector<double> mean;                      // [K] mean over seeds
  std::vector<double> ci95;                      // [K] t95(n−1) · std / √n across seeds; NaN for one seed
  double later_mean = 0.0;
  double later_ci95 = 0.0;  // across seeds, as ci95; NaN for one seed
};

// Two group curves compared per round and over rounds 2..K, a − b. Two modes of one group
// are paired by seed (the same θ in both): Student's t over the seeds' differences. Two
// groups are independent trainings: Welch's t over their seeds' means.
struct RoundsGroupComparison {
  std::string a;
  std::string b;
  bool paired_by_seed = false;
  std::vector<double> mean;  // [K]
  std::vector<double> ci95;  // [K]; NaN with one seed on a side
  double later_mean = 0.0;
  double later_ci95 = 0.0;
};

struct RoundsReport {
  std::string metarl_version;
  std::uint64_t seed = 0;
  std::uint64_t random_seed = 0;
  std::string env;
  std::string split;  // where round 1's tasks come from
  int sequences = 0;  // task sequences, one per evaluated "task"
  int rollouts = 0;   // per sequence and round
  int rounds = 0;     // K
  double return_discount = 1.0;
  std::string task_process;  // envs::format_task_process: "[goal_x=walk(0.05)]", "[]" when stationary
  // 0: every round is whole episodes from a reset; m: round r is steps (r−1)·m … r·m − 1
  // of one episode (EvalOptions::adapt_every).
  int adapt_every = 0;
  // With adapt_every: segment_start or random (EvalOptions::task_change_step), and for
  // random the step of each round's segment at which each sequence's task took effect,
  // [K][sequences] (round 1's 0: the episode's start); empty for segment_start.
  envs::TaskChangeStep task_change_step = envs::TaskChangeStep::kSegmentStart;
  std::vector<std::vector<int>> task_change_steps;
  std::vector<std::string> task_parameter_names;
  std::vector<std::vector<std::vector<double>>> task_parameters;  // [K][sequences][parameters]
  std::vector<RoundsCurve> curves;  // per method in report order, its modes in mode order
  // Per method, its modes pairwise (continuous − restart, continuous − none, restart −
  // none); then, per mode, every pair of methods (a before b in report order).
  std::vector<RoundsComparison> comparisons;
  // Seed groups (metarl eval of a group directory), per group its modes in mode order;
  // their comparisons: per group, its modes pairwise (paired by seed); then, per mode,
  // every pair of groups (Welch).
  std::vector<RoundsGroupCurve> groups;
  std::vector<RoundsGroupComparison> group_comparisons;
  std::vector<std::string> warnings;
};

// Each sequence's mean return over rounds 2..K ([sequences]) from [K][sequences]
// returns; round 1's when K = 1.
std::vector<double> later_rounds_means(const std::vector<std::vector<double>>& sequence_returns);

// Every comparison RoundsReport::comparisons lists, from its curves.
std::vector<RoundsComparison> compare_rounds(const std::vector<RoundsCurve>& curves);

// The group curve of `members` (one curve per seed, all under one mode).
RoundsGroupCurve summarize_rounds_group(const std::string& name, const std::string& group_dir,
                                        const std::vector<std::uint64_t>& seeds,
                                        const std::vector<const RoundsCurve*>& members);
// Every comparison RoundsReport::group_comparisons lists, from its groups.
std::vector<RoundsGroupComparison> compare_rounds_groups(const std::vector<RoundsGroupCurve>& groups);

std::string rounds_report_json(const RoundsReport& report);
// One JSON object per line and sequence: {"sequence": s, "parameters": [{"goal_x": ...}
// per round], "returns": {"<curve>": [round 1, round 2, ...]}}; with task_change_step
// random also "change_steps": [per round] after "parameters".
std::string rounds_task_lines(const RoundsReport& report);
std::string rounds_report_table(const RoundsReport& report);

// RUN_DIR/eval_<split>_rounds.json (…_rounds_discounted.json at return_discount < 1),
// beside the step reports, which it never replaces; the per-sequence lines beside it as
// …_rounds.tasks.jsonl.
// RUN_DIR/eval_<split>_rounds[_online<m>[_change_random]][_discounted].json: online
// segments (adapt_every m > 0) are another protocol than whole-episode rounds, and a task
// that changes at a random step inside them another again, so each keeps its own report.
std::string rounds_report_path(const std::string& run_dir, const std::string& split, double return_discount,
                               int adapt_every = 0,
                               envs::TaskChangeStep change_step = envs::TaskChangeStep::kSegmentStart);
std::string rounds_task_lines_path(const std::string& run_dir, const std::string& split, double return_discount,
                                   int adapt_every = 0,
                                   envs::TaskChangeStep change_step = envs::TaskChangeStep::kSegmentStart);
void save_rounds_report(const std::string& run_dir, const RoundsReport& report);

}  // namespace metarl::meta
