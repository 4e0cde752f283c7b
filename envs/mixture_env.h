#pragma once
// One task distribution over several environment families (issue Q): `metarl train
// --env cartpole,pendulum`. A mixture is itself a BatchedEnv whose rows belong to
// families by their task's family column; each family is stepped by its own batched
// environment (made from the registry, plug-ins included, with the mixture's batch
// size, so any row can hold any family), through that environment's reset_row and
// step_rows on the rows of its family.
//
// The shared interface, which one policy (agents/mixed_head_policy.h) acts through:
//  - Observation [D + K]: the family's own observation in the first components, zeros
//    after it up to D (the largest family's size), then a one-hot of the K families.
//  - Action [C + (1 if a family is discrete)]: a continuous family reads the first of
//    C (the largest continuous family's size) components, in [-1, 1] each and mapped
//    linearly onto its own action box (so one policy's σ means the same on pendulum's
//    ±2 N·m and point-nav's ±0.1 m); a discrete family reads the last component as
//    its action's index (rounded down, clamped to its actions).
//  - Reward, termination and time limit: each family's own; the mixture's
//    max_episode_steps is the longest, and rows of a shorter family are truncated at
//    theirs.
// A family with an unbounded continuous action cannot be mapped from [-1, 1]: a
// UsageError names it.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "envs/batched_env.h"

namespace metarl::envs {

class EnvRegistry;

// True when `name` lists families ("cartpole,pendulum"): it holds a comma.
bool is_mixture_name(const std::string& name);
// The families of a mixture name, in order. UsageError naming the name for an empty
// family ("a,,b"), fewer than two, or a family listed twice.
std::vector<std::string> mixture_families(const std::string& name);

class MixtureEnv final : public BatchedEnv {
 public:
  // `families`: the registry's names (UsageError naming an unknown one, as make()).
  MixtureEnv(const std::string& name, const std::vector<std::string>& families, const EnvRegistry& registry,
             int batch_size, std::uint64_t seed);

  int num_families() const { return static_cast<int>(family_envs_.size()); }
  // The family of a row (its task's column 0).
  int row_family(int row) const { return row_family_[static_cast<size_t>(row)]; }
  // The family's own environment (whose rows of other families are idle).
  const BatchedEnv& family_env(int family) const { return *family_envs_.at(static_cast<size_t>(family)); }

 protected:
  void reset_row(int row, Rng& rng) override;
  void step_rows(const float* actions, int begin, int end) override;
  void task_changed(int row) override;

 private:
  MixtureEnv(const std::string& name, std::vector<std::unique_ptr<BatchedEnv>> family_envs, int batch_size,
             std::uint64_t seed);
  // The row's observation from its family's environment: padded, then the indicator.
  void copy_observation(int row);

  std::vector<std::unique_ptr<BatchedEnv>> family_envs_;
  std::vector<int> row_family_;  // [B]
  // [B]: 1 for a row whose family changed and whose episode has not restarted.
  std::vector<std::uint8_t> family_needs_reset_;
  int padded_observation_dim_;   // D
  int continuous_action_dim_;    // C
  // Per family: the action each row of it passes to its environment, [B, action_dim].
  std::vector<std::vector<float>> family_actions_;
};

}  // namespace metarl::envs
