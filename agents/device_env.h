#pragma once
// Environments written once in tensor operations, so that a rollout steps where the
// policy runs (a GPU) with no host round trip per step: the device twins of the
// analytic native environments (point-nav, cartpole, pendulum). The same code runs on
// the CPU, where tests/agents/device_env_test.cpp proves each equal to its native
// environment step by step and through the sampler: bit for bit for point-nav and
// cartpole (the same operations in the same order, element-wise, which torch rounds
// as the scalar code does), and to ~1e-12 for pendulum (torch's sine is not libm's).
//
// A twin takes over a native environment's rows for one rollout. begin() copies the
// rows' tasks and the episode states that the native reset() just drew, and draws the
// reset states the rows' own streams would give next (up to one per step, from copies
// of the streams); step() is BatchedEnv::step on the device — the raw transition, the
// time limit, the automatic reset of ended episodes; end() advances the native rows'
// streams past the resets the rollout used. The native environment then continues
// exactly as if it had stepped itself: the next rollout, a checkpoint, a resume.

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "envs/batched_env.h"
#include "envs/rng.h"

namespace metarl::agents {

class DeviceEnvironment {
 public:
  virtual ~DeviceEnvironment() = default;

  // Takes over `native`'s rows after its reset(), for a rollout of at most `steps`
  // steps on `device`. Throws std::invalid_argument for an environment of another kind.
  void begin(const envs::BatchedEnv& native, int steps, const torch::Device& device);
  // [B, observation_dim] float32: the observation the next action answers.
  const torch::Tensor& observations() const { return observations_; }
  // One step of every row with `actions` [B, action_dim] float32 on the device (a
  // discrete action holds its index), then the automatic reset of the rows whose
  // episode ended. Afterwards rewards() [B] float32 and done() [B] bool (terminated
  // or truncated) are the step's.
  void step(const torch::Tensor& actions);
  const torch::Tensor& rewards() const { return rewards_; }
  const torch::Tensor& done() const { return done_; }
  // [B, state_size] float64: every row's episode state, in the native environment's
  // units and order (e.g. cartpole's x, ẋ, θ, θ̇), for comparisons with it.
  const torch::Tensor& state() const { return state_; }
  // A row's state as the native environment holds it, in the same order.
  std::vector<double> native_state_of(const envs::BatchedEnv& native, int row) const { return native_state(native, row); }
  // Advances the native rows' streams by the resets this rollout drew.
  void end(envs::BatchedEnv& native) const;

 protected:
  // The environment's own part. State: [B, state_size] float64 on the device.
  virtual int state_size() const = 0;
  // A row's episode state as the native environment holds it.
  virtual std::vector<double> native_state(const envs::BatchedEnv& native, int row) const = 0;
  // The state the native reset_row draws from `rng` (no draw for a fixed start),
  // written to state[0 .. state_size).
  virtual void draw_reset_state(Rng& rng, double* state) const = 0;
  // Per-row task values in native order, [B, P] float64 on the device, once per rollout.
  virtual void set_tasks(const torch::Tensor& tasks) = 0;
  // The raw transition: the new state; `reward` [B] float32 and `terminated` [B] bool.
  virtual torch::Tensor transition(const torch::Tensor& state, const torch::Tensor& actions, torch::Tensor& reward,
                                   torch::Tensor& terminated) const = 0;
  // The observation of a state: [B, observation_dim] float32.
  virtual torch::Tensor observe(const torch::Tensor& state) const = 0;

 private:
  int max_episode_steps_ = 0;
  torch::Tensor state_;           // [B, S] float64
  torch::Tensor elapsed_;         // [B] int64, steps since the episode's start
  torch::Tensor reset_states_;    // [M, B, S] float64: each row's next M reset states
  torch::Tensor resets_used_;     // [B] int64
  torch::Tensor rows_;            // [B] int64, 0..B−1
  std::vector<std::uint64_t> stream_states_;  // the native rows' streams at begin()
  torch::Tensor observations_;
  torch::Tensor rewards_;
  torch::Tensor done_;
};

// The device twin of the environment `name`, or null when it has none (box2d-nav,
// whose physics is Box2D's; plug-ins).
std::unique_ptr<DeviceEnvironment> make_device_environment(const std::string& name);

}  // namespace metarl::agents
