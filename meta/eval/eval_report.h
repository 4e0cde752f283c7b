#pragma once
// What `metarl eval` reports and how it is written: the per-method adaptation curves,
// the paired comparisons between methods, and their renderings — JSON (printed with
// --json and kept as RUN_DIR/eval_<split>.json for `metarl plot`) and the table.
// meta/eval/evaluation.h computes them.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace metarl::meta {

struct MethodCurve {
  // The algorithm ("meta-sgd", "maml", "pretrained", "random"), followed by the run
  // as given, e.g. "meta-sgd (runs/seed2)", when two methods share an algorithm.
  std::string name;
  // Provenance: what was evaluated, so that a report describes itself.
  std::string algorithm;             // "meta-sgd", "maml", "pretrained", "random"
  std::string run;                   // the run as given; "" for the random baseline
  std::int64_t checkpoint_iteration = -1;  // meta-iterations the checkpoint had done; -1: none
  std::string checkpoint_checksum;   // 16 hex digits (CheckpointData::checksum); "" without one
  std::vector<double> step_sizes;    // [k] inner step size of steps 1..k; empty: the learned α (meta-sgd)
  std::vector<double> mean;          // [k+1] mean over tasks of the per-task mean return
  std::vector<double> ci95;          // [k+1] half-width: 1.96 · sample std / √tasks
  std::vector<std::vector<double>> task_returns;  // [k+1][tasks]
  // Gain of step j over step 0, paired per task: mean and 95% half-width of
  // task_returns[j][t] − task_returns[0][t] over tasks t ([k+1]; entry 0 is 0). Every
  // step of a task shares its goal and the evaluation's random numbers, so the
  // between-task spread cancels: a gain can be clear while the two steps' own
  // intervals overlap (pendulum's held-out tasks, docs/results.md).
  std::vector<double> gain_mean;
  std::vector<double> gain_ci95;
};

// Two methods compared task by task: every difference is method a's per-task mean
// return minus method b's on the same task, with the same random numbers, so the
// spread between tasks (which both methods share) cancels. This is the test that
// decides "ahead": far tighter than comparing the two methods' own intervals when
// tasks differ a lot (docs/results.md, cartpole and pendulum).
struct MethodComparison {
  std::string a;                     // method names; differences are a − b
  std::string b;
  std::vector<double> mean;          // [k+1] step j: a after j steps − b after j steps, mean over tasks
  std::vector<double> ci95;          // [k+1] 95% half-width of those differences
  // b's best step: the one with the highest mean return (the first on ties). A
  // baseline that needs more steps is compared at its best, e.g. "Meta-SGD after one
  // step beats pretrained after any number of steps".
  int b_best_step = 0;
  std::vector<double> vs_best_mean;  // [k+1] step j: a after j steps − b after b_best_step steps
  std::vector<double> vs_best_ci95;
};

// A seed group (meta/run/seed_group.h): the same training run with several seeds, each
// evaluated on the report's tasks as a method of its own ("meta-sgd (runs/x/seed-2)").
// The group's figures treat the seed as the unit: each seed's mean over tasks is one
// value, and the interval is Student's t over those values, so it says how much a new
// seed may differ; the interval over tasks of the seed-averaged returns is kept beside.
struct GroupCurve {
  std::string name;                        // "meta-sgd (runs/x, 3 seeds)"
  std::string algorithm;
  std::string group;                       // the group directory as given
  std::vector<std::uint64_t> seeds;
  std::vector<std::string> members;        // the seeds' method names, in seed order
  std::vector<std::vector<double>> seed_means;  // [seeds][k+1] each seed's mean over tasks
  std::vector<double> mean;                // [k+1] mean over seeds
  std::vector<double> ci95;                // [k+1] across seeds: t95(n−1) · std / √n
  std::vector<double> ci95_tasks;          // [k+1] across tasks of the per-task mean over seeds
  std::vector<double> gain_mean;           // [k+1] gain over step 0, mean over seeds
  std::vector<double> gain_ci95;           // [k+1] across seeds (t)
};

struct GroupComparison {
  std::string a;                           // group names; differences are a − b
  std::string b;
  std::vector<double> mean;                // [k+1]
  std::vector<double> ci95;                // [k+1] Welch's t over the two groups' per-seed means
};

// How far one method is from the oracle (meta/eval/oracle.h) on the oracle's tasks (the
// evaluation's first `tasks` tasks), step by step, paired per task.
struct OracleGap {
  std::string method;
  std::vector<double> mean;    // [k+1] oracle − method after j steps, mean over the oracle's tasks
  std::vector<double> ci95;    // [k+1] 95% half-width of those per-task differences
  // [k+1] the fraction of the step-0 gap that j steps close: mean_t(m_j − m_0) / mean_t(o − m_0)
  // over the oracle's tasks t (0 at step 0, 1 = as good as the oracle). NaN when the
  // method starts level with or above the oracle (a gap of ≤ 0 has nothing to close).
  std::vector<double> closed;
};

// The oracle of an evaluation: policies trained on one task each (meta/eval/oracle.h).
// tasks == 0: none was asked for.
struct OracleReport {
  int tasks = 0;                      // the evaluation's first `tasks` tasks, one policy each
  int iterations = 0;                 // Adam steps, each on `rollouts` fresh episodes of the task
  int rollouts = 0;
  double learning_rate = 0.0;
  std::string start;                  // EvalOptions::oracle_start, as given: "random" | "first_run"
  std::string start_theta;            // that θ in words: "the random initialisation", "theta of maml"
  std::vector<double> task_returns;   // [tasks] each policy's mean return on its task, measured
                                      // with the evaluation's rollouts and random numbers
  double mean = 0.0;                  // over tasks, and 95% half-width
  double ci95 = 0.0;
  // [iterations + 1] mean over the tasks of the training rollouts' mean return before
  // each Adam step, and (last entry) of the measurement: whether the budget sufficed.
  std::vector<double> training_curve;
  std::vector<OracleGap> gaps;        // one per method, in report order
};

// A mixture of environment families (envs/mixture_env.h): the report's figures over
// one family's tasks only — each family has its own return scale, so the mixture's
// mean says little alone. The same runs, tasks and random numbers as the whole report.
struct FamilyReport {
  std::string family;
  std::vector<int> tasks;                   // the report's task indices of this family
  // Each method over these tasks: name, algorithm and run as in the report; mean, ci95,
  // gain_mean, gain_ci95 and task_returns [k+1][these tasks]. Then the runs of this family
  // alone (`metarl eval MIXTURE_RUN FAMILY_RUN ...`): the same tasks in the family's own
  // environment, so paired per task, though not per random number (a row's random stream
  // is its row's, and the rows differ).
  std::vector<MethodCurve> methods;
  std::vector<MethodComparison> comparisons;  // every pair, as the report's
};

// The family reports of an evaluation on a mixture: task t's family is its parameter
// 0 ("family"), `families` its names in index order. `family_runs`: curves of runs of one
// family (family index, curve over that family's tasks in task order), added after the
// methods in their family's report. Families without tasks are left out. Throws
// std::invalid_argument when a task's family is not one of them, or a family run's curve
// holds another number of tasks than its family.
std::vector<FamilyReport> family_reports(const std::vector<MethodCurve>& methods,
                                         const std::vector<std::vector<double>>& task_parameters,
                                         const std::vector<std::string>& families,
                                         const std::vector<std::pair<int, MethodCurve>>& family_runs = {});

struct EvalReport {
  std::string metarl_version;        // of the metarl that evaluated
  std::uint64_t seed = 0;            // evaluation seed: tasks and rollouts
  std::uint64_t random_seed = 0;     // the random baseline's initialisation
  std::string env;
  std::string split;
  int tasks = 0;
  int rollouts = 0;
  double return_discount = 1.0;      // γ of the reported returns (1: undiscounted)
  std::vector<int> steps;            // 0..k
  // The tasks every method was evaluated on, in task order: their parameters' names
  // (the environment's TaskParameter names) and values, [tasks][parameters].
  std::vector<std::string> task_parameter_names;
  std::vector<std::vector<double>> task_parameters;
  std::vector<MethodCurve> methods;
  // Every pair of methods, a before b in report order: (0,1), (0,2), …, (1,2), …
  std::vector<MethodComparison> comparisons;
  // Seed groups among the runs (meta/run/seed_group.h), in the order given; their members
  // are also in `methods`.
  std::vector<GroupCurve> groups;
  std::vector<GroupComparison> group_comparisons;  // every pair of groups, a before b
  OracleReport oracle;
  // A mixture of families: each family's figures (family_reports); empty otherwise.
  std::vector<FamilyReport> families;
  // What the reader must know before trusting the figures (e.g. a seed group averaged
  // over members at different iterations); the command line prints them too.
  std::vector<std::string> warnings;
};

// Mean and 95% CI half-width of the per-task differences a[t] − b[t]. Throws
// std::invalid_argument when a and b hold different numbers of tasks.
struct PairedDifference {
  double mean = 0.0;
  double ci95 = 0.0;
};
PairedDifference paired_difference(const std::vector<double>& a, const std::vector<double>& b);

// Every pair of `methods` (a before b in the given order), compared step by step and
// against b's best step. The curves must share their tasks (one evaluation).
std::vector<MethodComparison> compare_methods(const std::vector<MethodCurve>& methods);

// Every method's gap to the oracle on the oracle's tasks (the first oracle.tasks of
// each curve's tasks). Throws std::invalid_argument when a curve holds fewer tasks.
std::vector<OracleGap> oracle_gaps(const OracleReport& oracle, const std::vector<MethodCurve>& methods);

// Mean and 95% CI half-width (normal approximation) of `values`; CI 0 for one value.
void mean_and_ci95(const std::vector<double>& values, double& mean, double& ci95);

// {"metarl_version": ..., "seed": ..., "random_seed": ..., "env": ..., "split": ...,
//  "tasks": ..., "rollouts": ..., "return_discount": ..., "steps": [0, ...],
//  "methods": {"<name>": {"algorithm": ..., "run": ..., "checkpoint_iteration": ...,
//                         "checkpoint_checksum": ..., "step_sizes": [...] or "learned",
//                         "mean": [...], "ci95": [...], "gain_mean": [...], "gain_ci95": [...],
//                         "task_returns": [[step 0, every task], [step 1, ...], ...]}},
//  "comparisons": [{"a": ..., "b": ..., "mean": [...], "ci95": [...], "b_best_step": s,
//                   "vs_best_mean": [...], "vs_best_ci95": [...]}],
//  "groups": {...}, "group_comparisons": [...],
//  "oracle": null, or {"tasks": K, "iterations": ..., "rollouts": ..., "learning_rate": ..., "start": ...,
//             "task_returns": [...], "mean": ..., "ci95": ..., "training_curve": [...],
//             "gaps": {"<method>": {"mean": [...], "ci95": [...], "closed": [...]}}},
//  "families": {"<family>": {"tasks": [t, ...], "methods": {"<name>": {"mean": [...], "ci95": [...],
//               "gain_mean": [...], "gain_ci95": [...]}}, "comparisons": [...]}} (a mixture only),
//  "warnings": [...]}
std::string report_json(const EvalReport& report);
// One JSON object per line and task: {"task": t, "parameters": {"goal_x": ...},
// "returns": {"<method>": [step 0, step 1, ...], ...}}, with "oracle": return on the
// oracle's tasks — per-task results for tools that
// read JSON lines (pandas.read_json(lines=True), jq).
std::string report_task_lines(const EvalReport& report);
// What a report's numbers are, for headers and axis labels: "return" at γ = 1,
// else "discounted return (gamma 0.99)".
std::string return_measure(double return_discount);
// A human-readable table, one row per method, one column per step; then each
// method's gain over step 0 and, with several methods, their paired differences.
std::string report_table(const EvalReport& report);

// RUN_DIR/eval_<split>.json: where `metarl eval` keeps its report for plotting.
// A discounted report (return_discount < 1) goes beside the undiscounted one, as
// RUN_DIR/eval_<split>_discounted.json, so neither replaces the other.
std::string eval_report_path(const std::string& run_dir, const EvalReport& report);
std::string eval_report_path(const std::string& run_dir, const std::string& split, double return_discount);
// The per-task JSON lines beside it: eval_<split>[_discounted].tasks.jsonl.
std::string eval_task_lines_path(const std::string& run_dir, const EvalReport& report);
// Writes report_json(report) and report_task_lines(report) there, each atomically.
void save_eval_report(const std::string& run_dir, const EvalReport& report);

}  // namespace metarl::meta
