#include "envs/mixture_env.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "envs/errors.h"
#include "envs/registry.h"

namespace metarl::envs {

bool is_mixture_name(const std::string& name) { return name.find(',') != std::string::npos; }

std::vector<std::string> mixture_families(const std::string& name) {
  std::vector<std::string> families;
  size_t start = 0;
  while (true) {
    const size_t comma = name.find(',', start);
    std::string family = name.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const auto first = family.find_first_not_of(" \t");
    const auto last = family.find_last_not_of(" \t");
    family = first == std::string::npos ? "" : family.substr(first, last - first + 1);
    if (family.empty()) {
      throw UsageError("environment '" + quoted_value(name) +
                       "' lists an empty family; expected names separated by commas, e.g. cartpole,pendulum");
    }
    if (std::find(families.begin(), families.end(), family) != families.end()) {
      throw UsageError("environment '" + quoted_value(name) + "' lists family '" + quoted_value(family) +
                       "' twice; expected each family once (env_weights sets their shares)");
    }
    families.push_back(family);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (families.size() < 2) {
    throw UsageError("environment '" + quoted_value(name) + "' lists one family; a mixture needs at least two");
  }
  return families;
}

namespace {

std::vector<std::unique_ptr<BatchedEnv>> make_family_envs(const std::string& name,
                                                          const std::vector<std::string>& families,
                                                          const EnvRegistry& registry, int batch_size,
                                                          std::uint64_t seed) {
  std::vector<std::unique_ptr<BatchedEnv>> envs;
  for (size_t k = 0; k < families.size(); ++k) {
    auto env = registry.make(families[k], batch_size, derive_seed(seed, 0x6661'6D00ULL + k));
    const EnvSpec& spec = env->spec();
    if (!spec.discrete_actions) {
      for (int d = 0; d < spec.action_dim; ++d) {
        if (!std::isfinite(spec.action_low[d]) || !std::isfinite(spec.action_high[d])) {
          throw UsageError("environment '" + quoted_value(name) + "': family '" + families[k] +
                           "' has an unbounded action (dimension " + std::to_string(d) + ", [" +
                           shortest_decimal(spec.action_low[d]) + ", " + shortest_decimal(spec.action_high[d]) +
                           "]); a mixture maps each continuous action from [-1, 1] onto its family's box, so "
                           "every family's continuous actions need finite bounds");
        }
      }
    }
    envs.push_back(std::move(env));
  }
  return envs;
}

EnvSpec mixture_spec(const std::string& name, const std::vector<std::unique_ptr<BatchedEnv>>& envs) {
  EnvSpec spec;
  spec.name = name;
  int padded = 0;
  int continuous = 0;
  int max_actions = 0;
  std::string list;
  spec.deterministic_reset = true;
  for (const auto& env : envs) {
    const EnvSpec& own = env->spec();
    padded = std::max(padded, own.observation_dim);
    if (own.discrete_actions) max_actions = std::max(max_actions, own.num_actions);
    else continuous = std::max(continuous, own.action_dim);
    spec.max_episode_steps = std::max(spec.max_episode_steps, own.max_episode_steps);
    spec.deterministic_reset = spec.deterministic_reset && own.deterministic_reset;
    spec.families.push_back({own.name, own.observation_dim, own.discrete_actions, own.action_dim, own.num_actions,
                             own.max_episode_steps});
    list += (list.empty() ? "" : ", ") + own.name;
  }
  const int families = static_cast<int>(envs.size());
  spec.description = "a mixture of " + list + ": each family's observation padded to " + std::to_string(padded) +
                     " and a one-hot of the family; continuous actions in [-1, 1] mapped onto each family's box" +
                     (max_actions > 0 ? ", a discrete family's action index last" : "");
  spec.observation_dim = padded + families;
  spec.action_dim = continuous + (max_actions > 0 ? 1 : 0);
  // Bounds: the union of the families' (a padded component is 0), the indicator's [0, 1].
  spec.observation_low.assign(static_cast<size_t>(spec.observation_dim), std::numeric_limits<float>::infinity());
  spec.observation_high.assign(static_cast<size_t>(spec.observation_dim), -std::numeric_limits<float>::infinity());
  for (const auto& env : envs) {
    const EnvSpec& own = env->spec();
    for (int i = 0; i < padded; ++i) {
      const float low = i < own.observation_dim ? own.observation_low[i] : 0.0f;
      const float high = i < own.observation_dim ? own.observation_high[i] : 0.0f;
      spec.observation_low[i] = std::min(spec.observation_low[i], low);
      spec.observation_high[i] = std::max(spec.observation_high[i], high);
    }
  }
  for (int k = 0; k < families; ++k) {
    spec.observation_low[padded + k] = 0.0f;
    spec.observation_high[padded + k] = 1.0f;
  }
  spec.action_low.assign(static_cast<size_t>(continuous), -1.0f);
  spec.action_high.assign(static_cast<size_t>(continuous), 1.0f);
  if (max_actions > 0) {
    spec.action_low.push_back(0.0f);
    spec.action_high.push_back(static_cast<float>(max_actions - 1));
  }
  return spec;
}

TaskDistribution mixture_tasks(const std::vector<std::unique_ptr<BatchedEnv>>& envs) {
  std::vector<std::string> names;
  std::vector<TaskDistribution> components;
  for (const auto& env : envs) {
    names.push_back(env->spec().name);
    components.push_back(env->task_distribution());
  }
  return TaskDistribution::mixture(names, components);
}

}  // namespace

MixtureEnv::MixtureEnv(const std::string& name, const std::vector<std::string>& families,
                       const EnvRegistry& registry, int batch_size, std::uint64_t seed)
    : MixtureEnv(name, make_family_envs(name, families, registry, batch_size, seed), batch_size, seed) {}

MixtureEnv::MixtureEnv(const std::string& name, std::vector<std::unique_ptr<BatchedEnv>> family_envs, int batch_size,
                       std::uint64_t seed)
    : BatchedEnv(mixture_spec(name, family_envs), mixture_tasks(family_envs), batch_size, seed),
      family_envs_(std::move(family_envs)),
      row_family_(static_cast<size_t>(batch_size), -1),
      family_needs_reset_(static_cast<size_t>(batch_size), 1),
      padded_observation_dim_(spec().observation_dim - static_cast<int>(family_envs_.size())),
      continuous_action_dim_(0) {
  for (const auto& env : family_envs_) {
    if (!env->spec().discrete_actions) continuous_action_dim_ = std::max(continuous_action_dim_, env->spec().action_dim);
    family_actions_.emplace_back(static_cast<size_t>(batch_size) * env->spec().action_dim, 0.0f);
  }
  set_tasks(task_distribution().defaults(batch_size));
}

void MixtureEnv::task_changed(int row) {
  const double* task = this->task(row);
  const TaskDistribution& tasks = task_distribution();
  const int family = tasks.family_of(task);
  if (row_family_[row] != family) {
    // The row's state lives in the family's environment, which has never started an
    // episode there: reset_row does, so a row changes family only at a reset.
    row_family_[row] = family;
    family_needs_reset_[row] = 1;
  }
  family_envs_[family]->set_task(row, task + tasks.family_offset(family));
  set_row_time_limit(row, family_envs_[family]->spec().max_episode_steps);
}

void MixtureEnv::copy_observation(int row) {
  const int family = row_family_[row];
  const BatchedEnv& env = *family_envs_[family];
  const int own_dim = env.spec().observation_dim;
  const float* own = env.observations() + static_cast<size_t>(row) * own_dim;
  float* out = observation_row(row);
  std::copy(own, own + own_dim, out);
  std::fill(out + own_dim, out + spec().observation_dim, 0.0f);
  out[padded_observation_dim_ + family] = 1.0f;
}

void MixtureEnv::reset_row(int row, Rng& rng) {
  // The mixture's own stream for the row: a rollout depends on the seed alone.
  family_envs_[row_family_[row]]->reset_row(row, rng);
  family_needs_reset_[row] = 0;
  copy_observation(row);
}

void MixtureEnv::step_rows(const float* actions, int begin, int end) {
  const int action_dim = spec().action_dim;
  for (int r = begin; r < end; ++r) {
    if (family_needs_reset_[r]) {
      throw std::logic_error("environment '" + spec().name + "': row " + std::to_string(r) +
                             " changed family since its episode started; reset() first");
    }
    const int family = row_family_[r];
    const EnvSpec& own = family_envs_[family]->spec();
    const float* in = actions + static_cast<size_t>(r) * action_dim;
    float* out = family_actions_[family].data() + static_cast<size_t>(r) * own.action_dim;
    if (own.discrete_actions) {
      const float index = in[continuous_action_dim_];
      out[0] = index >= 0.0f ? std::min(std::floor(index), static_cast<float>(own.num_actions - 1)) : 0.0f;
    } else {
      for (int d = 0; d < own.action_dim; ++d) {
        const float unit = std::clamp(in[d], -1.0f, 1.0f);
        out[d] = own.action_low[d] + 0.5f * (unit + 1.0f) * (own.action_high[d] - own.action_low[d]);
      }
    }
  }
  float* rewards = reward_buffer();
  std::uint8_t* terminated = terminated_buffer();
  for (int first = begin; first < end;) {
    const int family = row_family_[first];
    int last = first;
    while (last < end && row_family_[last] == family) ++last;
    BatchedEnv& env = *family_envs_[family];
    env.step_rows(family_actions_[family].data(), first, last);
    for (int r = first; r < last; ++r) {
      copy_observation(r);
      rewards[r] = env.rewards()[r];
      terminated[r] = env.terminated()[r];
    }
    first = last;
  }
}

}  // namespace metarl::envs
