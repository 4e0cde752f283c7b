#include "envs/conformance.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <memory>
#include <stdexcept>
#include <utility>

#include "envs/task_process.h"

namespace metarl::envs {

namespace {

constexpr int kRows = 8;

CheckResult pass() { return {}; }
CheckResult fail(std::string message) { return {false, std::move(message)}; }

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.9g", value);
  return text;
}

std::string at(int row, int step) { return "row " + std::to_string(row) + ", step " + std::to_string(step) + ": "; }

// A check's body may throw (a factory, set_tasks, step): that is a failure too, and
// the runner of the other checks must carry on.
template <typename Body>
CheckResult guarded(Body&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    return fail(std::string("threw: ") + e.what());
  } catch (...) {
    return fail("threw an exception that is not a std::exception");
  }
}

// [rows, action_dim], uniform over the action box widened by 20% on each side so that
// clipping is exercised too; discrete environments get valid indices.
std::vector<float> random_actions(const EnvSpec& spec, int rows, Rng& rng) {
  std::vector<float> actions(static_cast<size_t>(rows) * spec.action_dim);
  for (int r = 0; r < rows; ++r) {
    for (int a = 0; a < spec.action_dim; ++a) {
      actions[r * spec.action_dim + a] =
          spec.discrete_actions
              ? static_cast<float>(std::min(spec.num_actions - 1, static_cast<int>(rng.uniform() * spec.num_actions)))
              : static_cast<float>(rng.uniform(1.2 * spec.action_low[a] - 0.2 * spec.action_high[a],
                                               1.2 * spec.action_high[a] - 0.2 * spec.action_low[a]));
    }
  }
  return actions;
}

// `rows` rows on `seed`, each with its own task from the train split of `task_seed`.
std::unique_ptr<BatchedEnv> make_env(const EnvRegistry& registry, const std::string& name, int rows,
                                     std::uint64_t seed, std::uint64_t task_seed = 5) {
  auto env = registry.make(name, rows, seed);
  Rng task_rng(task_seed);
  env->set_tasks(env->task_distribution().sample(rows, Split::kTrain, task_rng));
  return env;
}

// Observations, rewards and flags (terminated + 2·truncated) of `steps` steps after
// reset under random actions, one flat trace.
std::vector<float> rollout(BatchedEnv& env, int steps, std::uint64_t action_seed = 99) {
  Rng rng(action_seed);
  env.reset();
  const int obs_size = env.batch_size() * env.spec().observation_dim;
  std::vector<float> trace(env.observations(), env.observations() + obs_size);
  for (int t = 0; t < steps; ++t) {
    const auto actions = random_actions(env.spec(), env.batch_size(), rng);
    env.step(actions.data());
    trace.insert(trace.end(), env.observations(), env.observations() + obs_size);
    trace.insert(trace.end(), env.rewards(), env.rewards() + env.batch_size());
    for (int r = 0; r < env.batch_size(); ++r) trace.push_back(env.terminated()[r] + 2.0f * env.truncated()[r]);
  }
  return trace;
}

// Index of the first difference of two traces (bit equality; NaN never equals).
size_t first_difference(const std::vector<float>& a, const std::vector<float>& b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (!(a[i] == b[i])) return i;
  }
  return n;
}

std::vector<double> all_tasks(const BatchedEnv& env) {
  std::vector<double> tasks;
  const int parameters = env.task_distribution().num_parameters();
  for (int r = 0; r < env.batch_size(); ++r) tasks.insert(tasks.end(), env.task(r), env.task(r) + parameters);
  return tasks;
}

}  // namespace

CheckResult check_spec_shapes_and_bounds(const std::string& env_name, const EnvRegistry& registry) {
  return guarded([&] {
    auto env = make_env(registry, env_name, kRows, 1);
    const EnvSpec& spec = env->spec();
    try {
      spec.validate();
    } catch (const std::invalid_argument& e) {
      return fail(e.what());
    }
    if (spec.name != env_name) return fail("spec().name is '" + spec.name + "', registered as '" + env_name + "'");
    if (env->task_distribution().num_parameters() <= 0) return fail("the task distribution has no parameters");
    Rng rng(3);
    env->reset();
    for (int t = 0; t < 2 * spec.max_episode_steps; ++t) {
      const auto actions = random_actions(spec, kRows, rng);
      env->step(actions.data());
      for (int r = 0; r < kRows; ++r) {
        if (!std::isfinite(env->rewards()[r])) return fail(at(r, t) + "reward " + number(env->rewards()[r]));
        if (env->terminated()[r] > 1) {
          return fail(at(r, t) + "terminated is " + std::to_string(env->terminated()[r]) + ", expected 0 or 1");
        }
        if (env->truncated()[r] > 1) {
          return fail(at(r, t) + "truncated is " + std::to_string(env->truncated()[r]) + ", expected 0 or 1");
        }
        for (int d = 0; d < spec.observation_dim; ++d) {
          const float o = env->observations()[r * spec.observation_dim + d];
          // 1e-5: room for rounding at a bound the dynamics reach exactly.
          if (!std::isfinite(o) || o < spec.observation_low[d] - 1e-5f || o > spec.observation_high[d] + 1e-5f) {
            return fail(at(r, t) + "observation component " + std::to_string(d) + " is " + number(o) +
                        ", outside its declared bounds [" + number(spec.observation_low[d]) + ", " +
                        number(spec.observation_high[d]) + "]");
          }
        }
      }
    }
    return pass();
  });
}

CheckResult check_same_seed_same_rollout(const std::string& env_name, const EnvRegistry& registry) {
  return guarded([&] {
    auto a = make_env(registry, env_name, kRows, 1);
    auto b = make_env(registry, env_name, kRows, 1);
    auto c = make_env(registry, env_name, kRows, 2);
    const int steps = 2 * a->spec().max_episode_steps + 3;  // spans automatic resets
    const auto first = rollout(*a, steps);
    const auto second = rollout(*b, steps);
    if (first != second) {
      return fail("two environments on seed 1 gave different rollouts (first difference at trace value " +
                  std::to_string(first_difference(first, second)) + " of " + std::to_string(first.size()) + ")");
    }
    if (a->spec().deterministic_reset) {
      // Declared deterministic: the start may not depend on the seed.
      a->reset();
      c->reset();
      const int obs_size = kRows * a->spec().observation_dim;
      for (int i = 0; i < obs_size; ++i) {
        if (!(a->observations()[i] == c->observations()[i])) {
          return fail("the spec declares deterministic_reset, but the first observation differs between seeds 1 "
                      "and 2 (row " + std::to_string(i / a->spec().observation_dim) + ", component " +
                      std::to_string(i % a->spec().observation_dim) + ": " + number(a->observations()[i]) + " vs " +
                      number(c->observations()[i]) + ")");
        }
      }
    } else if (first == rollout(*c, steps)) {
      return fail("seeds 1 and 2 gave the same rollout of " + std::to_string(steps) +
                  " steps; an environment whose reset ignores its random stream must declare deterministic_reset");
    }
    return pass();
  });
}

CheckResult check_truncated_at_the_time_limit(const std::string& env_name, const EnvRegistry& registry) {
  return guarded([&] {
    auto env = make_env(registry, env_name, kRows, 4);
    const int limit = env->spec().max_episode_steps;
    // A mixture's row ends at its own family's limit (envs/mixture_env.h).
    std::vector<int> row_limit(kRows, limit);
    for (int r = 0; r < kRows && !env->spec().families.empty(); ++r) {
      row_limit[r] = env->spec().families[env->task_distribution().family_of(env->task(r))].max_episode_steps;
    }
    std::vector<int> elapsed(kRows, 0);
    Rng rng(8);
    env->reset();
    for (int t = 0; t < 3 * limit; ++t) {
      const auto actions = random_actions(env->spec(), kRows, rng);
      env->step(actions.data());
      for (int r = 0; r < kRows; ++r) {
        ++elapsed[r];
        if ((env->truncated()[r] == 1) != (elapsed[r] == row_limit[r])) {
          return fail(at(r, t) + "truncated is " + std::to_string(env->truncated()[r]) + " after " +
                      std::to_string(elapsed[r]) + " steps of the episode; expected 1 exactly at the time limit of " +
                      std::to_string(row_limit[r]));
        }
        if (env->done(r)) {
          if (env->elapsed_steps()[r] != 0) {
            return fail(at(r, t) + "elapsed_steps is " + std::to_string(env->elapsed_steps()[r]) +
                        " after the automatic reset, expected 0");
          }
          elapsed[r] = 0;
        } else if (env->elapsed_steps()[r] != elapsed[r]) {
          return fail(at(r, t) + "elapsed_steps is " + std::to_string(env->elapsed_steps()[r]) + ", expected " +
                      std::to_string(elapsed[r]));
        }
      }
    }
    return pass();
  });
}

CheckResult check_task_change_stays_in_its_row(const std::string& env_name, const EnvRegistry& registry) {
  return guarded([&] {
    auto a = make_env(registry, env_name, kRows, 6);
    auto b = make_env(registry, env_name, kRows, 6);
    Rng heldout(13);
    const auto other = b->task_distribution().sample(1, Split::kHeldOut, heldout);
    const int changed = 3;
    b->set_task(changed, other.task(0));
    const EnvSpec& spec = a->spec();
    Rng rng(21);
    a->reset();
    b->reset();
    bool row_differs = false;
    for (int t = 0; t < 50; ++t) {
      const auto actions = random_actions(spec, kRows, rng);
      a->step(actions.data());
      b->step(actions.data());
      for (int r = 0; r < kRows; ++r) {
        bool same = a->rewards()[r] == b->rewards()[r];
        for (int d = 0; d < spec.observation_dim; ++d) {
          same = same &&
                 a->observations()[r * spec.observation_dim + d] == b->observations()[r * spec.observation_dim + d];
        }
        if (r == changed) {
          row_differs = row_differs || !same;
        } else if (!same) {
          return fail(at(r, t) + "changed although only row " + std::to_string(changed) + "'s task was changed");
        }
      }
    }
    if (!row_differs) {
      return fail("a held-out task in row " + std::to_string(changed) +
                  " made no difference to its rewards or observations in 50 steps");
    }
    return pass();
  });
}

CheckResult check_auto_reset_keeps_the_task(const std::string& env_name, const EnvRegistry& registry) {
  return guarded([&] {
    auto env = make_env(registry, env_name, kRows, 7);
    const auto before = all_tasks(*env);
    rollout(*env, 3 * env->spec().max_episode_steps);
    const auto after = all_tasks(*env);
    const int parameters = env->task_distribution().num_parameters();
    for (size_t i = 0; i < before.size(); ++i) {
      if (!(before[i] == after[i])) {
        return fail("row " + std::to_string(i / parameters) + ": task parameter '" +
                    env->task_distribution().parameters()[i % parameters].name + "' changed from " +
                    number(before[i]) + " to " + number(after[i]) + " over automatic resets");
      }
    }
    return pass();
  });
}

CheckResult check_heldout_outside_training_ranges(const std::string& env_name, const EnvRegistry& registry) {
  return guarded([&] {
    auto env = make_env(registry, env_name, 1, 0);
    const auto& tasks = env->task_distribution();
    if (!tasks.has_heldout()) {
      return fail("the task distribution has no held-out tasks: every held-out range equals its training range");
    }
    Rng rng(17);
    const auto batch = tasks.sample(500, Split::kHeldOut, rng);
    for (int t = 0; t < batch.num_tasks; ++t) {
      if (tasks.in_training_range(batch.task(t))) {
        return fail("held-out task " + std::to_string(t) + " lies inside every training range");
      }
      for (int p = 0; p < tasks.num_parameters(); ++p) {
        const TaskParameter& parameter = tasks.parameters()[p];
        if (batch.at(t, p) < parameter.heldout_low || batch.at(t, p) > parameter.heldout_high) {
          return fail("held-out task " + std::to_string(t) + ": '" + parameter.name + "' = " +
                      number(batch.at(t, p)) + " is outside its held-out range [" + number(parameter.heldout_low) +
                      ", " + number(parameter.heldout_high) + "]");
        }
      }
    }
    return pass();
  });
}

CheckResult check_split_step_same_rollout(const std::string& env_name, const EnvRegistry& registry) {
  return guarded([&] {
    auto one_thread = make_env(registry, env_name, kRows, 1);
    auto split = make_env(registry, env_name, kRows, 1);
    // Three threads over 8 rows: ranges [0, 2), [2, 5), [5, 8), split on every step.
    constexpr int kThreads = 3;
    split->set_step_threads(kThreads, 0.0);
    const int steps = 2 * one_thread->spec().max_episode_steps + 3;  // spans automatic resets
    const auto expected = rollout(*one_thread, steps);
    const auto actual = rollout(*split, steps);
    if (split->split_steps() != steps) {
      return fail("asked to split every step over " + std::to_string(kThreads) + " threads, split " +
                  std::to_string(split->split_steps()) + " of " + std::to_string(steps));
    }
    if (expected != actual) {
      return fail("stepping row ranges on " + std::to_string(kThreads) +
                  " threads changed the rollout (first difference at trace value " +
                  std::to_string(first_difference(expected, actual)) + " of " + std::to_string(expected.size()) +
                  "): step_rows must touch only rows [begin, end) and nothing they share");
    }
    return pass();
  });
}

CheckResult check_task_process_stays_in_range(const std::string& env_name, const EnvRegistry& registry) {
  return guarded([&] {
    auto env = make_env(registry, env_name, kRows, 1);
    const TaskDistribution& distribution = env->task_distribution();
    constexpr int kRounds = 40;
    for (const Split split : {Split::kTrain, Split::kHeldOut}) {
      if (split == Split::kHeldOut && !distribution.has_heldout()) continue;
      const bool heldout = split == Split::kHeldOut;
      // The split's range of a parameter: {low, high}.
      const auto range_of = [&](const TaskParameter& parameter) {
        return heldout ? std::pair{parameter.heldout_low, parameter.heldout_high}
                       : std::pair{parameter.train_low, parameter.train_high};
      };
      // A walk of a quarter of the range per round on every parameter that varies in this
      // split: over 40 rounds most walks are reflected at an end at least once.
      std::vector<TaskProcessTerm> terms;
      for (const auto& parameter : distribution.parameters()) {
        // A mixture's family column takes no process (a row keeps its family).
        if (distribution.is_mixture() && &parameter == &distribution.parameters().front()) continue;
        const auto [low, high] = range_of(parameter);
        if (high > low) terms.push_back({parameter.name, TaskProcessKind::kWalk, 0.25 * (high - low)});
      }
      if (terms.empty()) continue;
      const TaskProcess process(distribution, terms, split);
      Rng rng(23);
      const auto first = distribution.sample(kRows, split, rng);
      const auto rounds = process.sequence(first, kRounds, rng);
      std::vector<bool> moved(static_cast<size_t>(distribution.num_parameters()), false);
      for (int round = 0; round < kRounds; ++round) {
        const TaskBatch& tasks = rounds[static_cast<size_t>(round)];
        for (int t = 0; t < tasks.num_tasks; ++t) {
          for (int p = 0; p < tasks.num_parameters; ++p) {
            const TaskParameter& parameter = distribution.parameters()[static_cast<size_t>(p)];
            const auto [low, high] = range_of(parameter);
            const double value = tasks.at(t, p);
            // Built only for a failure's message.
            const auto where = [&] {
              return std::string(to_string(split)) + " round " + std::to_string(round + 1) + ", task " +
                     std::to_string(t) + ": '" + parameter.name + "' = " + number(value);
            };
            if (!(value >= low && value <= high)) {
              return fail(where() + " left its range [" + number(low) + ", " + number(high) + "] under " +
                          format_task_process(terms));
            }
            if (high > low) {
              moved[static_cast<size_t>(p)] = moved[static_cast<size_t>(p)] || value != first.at(t, p);
            } else if (value != first.at(t, p)) {
              return fail(where() + " moved, but it has no process (held fixed at " + number(low) + ")");
            }
          }
        }
        // The environment takes every round's tasks and steps them.
        env->set_tasks(tasks);
        const auto trace = rollout(*env, 3, 100 + static_cast<std::uint64_t>(round));
        for (const float x : trace) {
          if (!std::isfinite(x)) {
            return fail(std::string(to_string(split)) + " round " + std::to_string(round + 1) +
                        ": a non-finite observation, reward or flag after set_tasks of the moved tasks");
          }
        }
      }
      for (const auto& term : terms) {
        if (!moved[static_cast<size_t>(distribution.index_of(term.parameter))]) {
          return fail(std::string(to_string(split)) + ": '" + term.parameter + "' never moved in " +
                      std::to_string(kRounds) + " rounds of " + to_string(term));
        }
      }
    }
    return pass();
  });
}

const std::vector<ConformanceCheck>& conformance_checks() {
  static const std::vector<ConformanceCheck> checks{
      {"spec_shapes_and_bounds", "the spec is valid; rewards and observations are finite and within bounds",
       check_spec_shapes_and_bounds},
      {"same_seed_same_rollout", "same seed, same rollout; another seed, another rollout (or a declared "
       "deterministic reset)", check_same_seed_same_rollout},
      {"truncated_at_the_time_limit", "truncated exactly at max_episode_steps; elapsed steps restart on reset",
       check_truncated_at_the_time_limit},
      {"task_change_stays_in_its_row", "changing one row's task changes that row only",
       check_task_change_stays_in_its_row},
      {"auto_reset_keeps_the_task", "automatic resets never change a row's task", check_auto_reset_keeps_the_task},
      {"heldout_outside_training_ranges", "held-out tasks lie in the held-out box, outside the training box",
       check_heldout_outside_training_ranges},
      {"split_step_same_rollout", "a step split over threads gives the one-thread rollout, bit for bit",
       check_split_step_same_rollout},
      {"task_process_stays_in_range", "random walks keep each split's tasks in its box; every round's tasks step",
       check_task_process_stays_in_range},
  };
  return checks;
}

std::vector<CheckOutcome> check_conformance(const std::string& env_name, const EnvRegistry& registry) {
  // make() of an unknown name throws the UsageError that lists the known ones; a
  // known environment is built by the checks themselves, where a throw is a failure.
  if (!registry.find(env_name)) registry.make(env_name, 1, 0);
  std::vector<CheckOutcome> outcomes;
  for (const auto& check : conformance_checks()) outcomes.push_back({check.name, check.run(env_name, registry)});
  return outcomes;
}

}  // namespace metarl::envs
