// TrainConfig's keys (declared in meta/config.h): the one table from which YAML,
// --set, the flags, --help and --print-config come. It sits above the outer steps'
// registry, whose entries add their own keys (OuterStepTraits::config_keys), so
// config.h stays below the steps that read a TrainConfig.
#include "meta/config.h"
#include "meta/outer_steps.h"
#include "meta/parallel/blas_kernels.h"

namespace metarl::meta {

namespace {

ConfigSchema<TrainConfig> make_train_schema() {
  using C = TrainConfig;
  constexpr int kMaxCount = 1'000'000;
  std::vector<ConfigKey<C>> keys;
  keys.push_back({"env",
                  "environment name (see `metarl envs`), or a mixture of families, comma-separated (a YAML list): "
                  "one meta-policy over all of them, each meta-batch holding every family in its share",
                  false, [](C& c, const std::string& v) { c.env = config_values::parse_environment("env", v); },
                  [](const C& c) { return c.env; }, "NAME"});
  keys.push_back({"env_weights",
                  "a mixture's family weights, one per family of env: each family's share of a meta-batch's tasks "
                  "(largest remainders). Empty: equal shares",
                  false,
                  [](C& c, const std::string& v) { c.env_weights = config_values::parse_weights("env_weights", v); },
                  [](const C& c) { return config_values::format_weights(c.env_weights); }, "LIST"});
  keys.push_back({"task_ranges",
                  "task parameters' ranges in place of the environment's (`metarl envs` lists them): NAME=V holds "
                  "one fixed, NAME=LOW..HIGH sets its training range (held-out the same), NAME=LOW..HIGH/LOW..HIGH "
                  "its training and held-out ranges; within the environment's held-out range. Empty: the "
                  "environment's own",
                  false,
                  [](C& c, const std::string& v) { c.task_ranges = config_values::parse_task_ranges("task_ranges", v); },
                  [](const C& c) { return config_values::format_task_ranges(c.task_ranges); }, "LIST"});
  keys.push_back(task_process_key<C>(
      "train for continuous adaptation on drifting tasks: how each task parameter moves between rounds, "
      "NAME=walk(STD), NAME=switch(PROBABILITY), NAME=drift(STEP) or NAME=scale(FACTOR) (kept in the training "
      "range); adaptation step j learns from round j's task and the outer objective is round inner_steps+1's. "
      "Empty: stationary tasks",
      &C::task_process));
  keys.push_back(int_key<C>("adapt_every",
                            "online adaptation within an episode: adapt every m steps from the last m steps, the "
                            "outer objective on segment inner_steps+1 of the same episode (task_process then moves "
                            "the task between segments); 0 = off, stages roll out whole episodes",
                            &C::adapt_every, 0, 100000));
  keys.push_back(enum_key<C>("task_change_step",
                             "with adapt_every and a task_process, where in a segment the task moves: segment_start "
                             "(between segments) or random (at a step drawn uniformly from the segment's m steps, per "
                             "task, so the next adaptation learns from steps of the old task and the new one)",
                             &C::task_change_step, envs::task_change_step_names()));
  keys.push_back(enum_key<C>("algo",
                             "meta-sgd (learned per-parameter step α), maml (fixed scalar α) or pretrained (policy "
                             "gradient on the whole task distribution, the baseline)",
                             &C::algo, algorithm_names(), {Algorithm::kRandom}));
  keys.push_back(int_key<C>("iterations", "meta-iterations to run", &C::iterations, 1, kMaxCount));
  keys.push_back(int_key<C>("meta_batch", "tasks per meta-iteration (T)", &C::meta_batch, 1, 100000));
  keys.push_back(int_key<C>("rollouts", "rollouts per task and adaptation step (R)", &C::rollouts, 1, 100000));
  keys.push_back(int_key<C>("horizon", "steps per rollout (H); 0 = the environment's time limit", &C::horizon, 0,
                            100000));
  keys.push_back(enum_key<C>("action_space",
                             "continuous actions as the environment takes them, or normalized: the policy acts in "
                             "[-1, 1] per dimension, mapped linearly onto the environment's bounds and clipped "
                             "(rllab's normalize(), as in MAML's and Meta-SGD's point experiments)",
                             &C::action_space, agents::action_space_names()));
  keys.push_back(real_key<C>("action_normalization_scale",
                             "normalized actions: the policy acts in [-s, s] per dimension (1: rllab's normalize(); "
                             "10: ProMP's, whose initial sigma is then a tenth of the bounds' half-width)",
                             &C::action_normalization_scale, 1e-6, 1e6));
  keys.push_back(int_key<C>("inner_steps", "adaptation steps per task (k)", &C::inner_steps, 1, 100));
  keys.push_back(real_key<C>("inner_lr", "inner step size: MAML's fixed α, Meta-SGD's initial α", &C::inner_lr, 0.0,
                             1e3));
  keys.push_back(bool_key<C>("first_order", "drop the second-order terms of the meta-gradient", &C::first_order));
  keys.push_back(int_key<C>("backprop_steps",
                            "truncated back-propagation: the meta-gradient runs back through the last b inner steps "
                            "only, the parameters before them taken as theta plus a constant (Al-Shedivat et al.'s "
                            "truncation for long chains of rounds); 0 = through every step",
                            &C::backprop_steps, 0, 100));
  keys.push_back(enum_key<C>("estimator",
                             "inner-loss form, which sets the meta-gradient's second-order terms: plain (biased), "
                             "dice (unbiased) or lvc (low variance)",
                             &C::estimator, agents::estimator_names()));
  keys.push_back(enum_key<C>("kernels",
                             "how TRPO differentiates through the adaptation (its curvature products, gradient and "
                             "line search): analytic (the policies' own passes, faster) or autograd (the generic "
                             "double backward, the reference); each product agrees to float rounding. Adam and "
                             "ProMP use autograd; a run from before this key resumes with autograd",
                             &C::kernels, agents::kernels_names()));
  keys.push_back(choice_key<C>("optimizer",
                               "outer step over θ and α: " + outer_step_descriptions(), &C::optimizer,
                               outer_step_names()));
  keys.push_back(real_key<C>("outer_lr", "outer (Adam) step size at the first iteration; adam and promp", &C::outer_lr,
                             1e-8, 10.0));
  keys.push_back(real_key<C>("alpha_lr_scale",
                             "Meta-SGD: alpha's outer (Adam) step size as a multiple of theta's (adam and promp)",
                             &C::alpha_lr_scale, 1e-6, 1e6));
  keys.push_back(enum_key<C>("outer_lr_decay",
                             "outer step-size schedule over the run: none, or linear/cosine decay to 0",
                             &C::outer_lr_decay, outer_lr_decay_names()));
  // Each outer step's own keys, in the registry's order (OuterStepTraits::config_keys).
  for (const auto& step : outer_steps()) keys.insert(keys.end(), step.traits.config_keys.begin(), step.traits.config_keys.end());
  keys.push_back(layer_sizes_key<C>("hidden_sizes", "policy hidden layer sizes, e.g. 100,100",
                                    field(&C::policy, &agents::MlpOptions::hidden_sizes)));
  keys.push_back(enum_key<C>("activation", "hidden-layer activation",
                             field(&C::policy, &agents::MlpOptions::activation),
                             agents::activation_names()));
  keys.push_back(bool_key<C>("family_observed",
                             "a mixture of environments: the policy's trunk reads the one-hot of each row's family "
                             "(false: the family is one more thing adaptation must find)",
                             field(&C::policy, &agents::MlpOptions::family_observed)));
  keys.push_back(real_key<C>("init_log_std", "initial log standard deviation of the Gaussian policy",
                             field(&C::policy, &agents::MlpOptions::init_log_std), -10.0, 5.0));
  keys.push_back(real_key<C>("gamma", "discount factor", field(&C::advantages, &agents::AdvantageOptions::gamma), 0.0,
                             1.0));
  keys.push_back(real_key<C>("gae_lambda", "GAE lambda (1 = Monte-Carlo returns minus the baseline)",
                             field(&C::advantages, &agents::AdvantageOptions::gae_lambda), 0.0, 1.0));
  keys.push_back(bool_key<C>("normalize_advantages", "normalise advantages per task",
                             field(&C::advantages, &agents::AdvantageOptions::normalize)));
  keys.push_back(seed_key<C>("seed", "random seed: same seed, same run", &C::seed));
  keys.push_back(device_key<C>("device", "where the policy and meta-learner run: cpu, cuda or cuda:N",
                               field(&C::runtime, &TrainingRuntime::device)));
  keys.push_back(bool_key<C>("env_on_device",
                             "step the environment's device twin where the policy runs (point-nav, cartpole, "
                             "pendulum); the same rollouts, without a host round trip per step on a GPU",
                             field(&C::runtime, &TrainingRuntime::env_on_device)));
  keys.push_back(int_key<C>("threads", "torch intra-op threads (0 = one per core; 1 is fastest at small sizes)",
                            field(&C::runtime, &TrainingRuntime::threads), 0, 1024));
  keys.push_back(choice_key<C>("blas_kernels",
                               "BLAS kernels: auto (the fastest this CPU supports when OpenBLAS did not recognise it), "
                               "openblas (its own choice) or a core by name (haswell: the same products on every AVX2 "
                               "machine); recorded, and used again on resume",
                               field(&C::runtime, &TrainingRuntime::blas_kernels), blas_kernels_choices()));
  keys.push_back(int_key<C>("workers", "CPU threads sharing the tasks of the TRPO curvature products (0 = one per core)",
                            field(&C::runtime, &TrainingRuntime::workers), 0, 1024));
  keys.push_back(int_key<C>("env_threads",
                            "threads sharing each environment step when it is slow enough to split (0 = one per core; "
                            "rollouts do not depend on it)",
                            field(&C::runtime, &TrainingRuntime::env_threads), 0, 1024));
  keys.push_back(int_key<C>("checkpoint_every", "iterations between checkpoints",
                            field(&C::bookkeeping, &RunBookkeeping::checkpoint_every), 1, kMaxCount));
  keys.push_back(int_key<C>("keep_checkpoints",
                            "every N iterations keep a copy of the checkpoint as checkpoints/iteration-N.pt, to "
                            "evaluate learning over time (0 = keep only the latest)",
                            field(&C::bookkeeping, &RunBookkeeping::keep_checkpoints), 0, kMaxCount));
  keys.push_back(int_key<C>("eval_every",
                            "every N iterations evaluate adaptation on fresh tasks into eval_during_training.csv "
                            "(0 = never; eval_split, eval_tasks, eval_rollouts, eval_steps)",
                            field(&C::evaluation, &TrainingEvaluation::every), 0, kMaxCount));
  keys.push_back(enum_key<C>("eval_split", "tasks of eval_every's evaluation: train, test or heldout",
                             field(&C::evaluation, &TrainingEvaluation::protocol, &EvaluationProtocol::split),
                             envs::split_names()));
  keys.push_back(int_key<C>("eval_tasks", "tasks of eval_every's evaluation",
                            field(&C::evaluation, &TrainingEvaluation::protocol, &EvaluationProtocol::tasks),
                            1, 100000));
  keys.push_back(int_key<C>("eval_rollouts", "rollouts per task and step of eval_every's evaluation",
                            field(&C::evaluation, &TrainingEvaluation::protocol, &EvaluationProtocol::rollouts),
                            1, 100000));
  keys.push_back(int_key<C>("eval_steps", "adaptation steps of eval_every's evaluation",
                            field(&C::evaluation, &TrainingEvaluation::protocol, &EvaluationProtocol::steps),
                            1, 100));
  keys.push_back(bool_key<C>("tensorboard",
                             "also write every metrics.csv column (and eval_every's results) as TensorBoard scalars "
                             "into RUN_DIR/tensorboard/",
                             field(&C::bookkeeping, &RunBookkeeping::tensorboard)));
  return ConfigSchema<TrainConfig>("training config", std::move(keys));
}

}  // namespace

const ConfigSchema<TrainConfig>& train_config_schema() {
  static const ConfigSchema<TrainConfig> schema = make_train_schema();
  return schema;
}

}  // namespace metarl::meta
