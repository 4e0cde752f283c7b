#pragma once
// The linear feature baseline of Duan et al. (2016, rllab LinearFeatureBaseline),
// used by MAML and Meta-SGD: per task, a ridge least-squares fit of the returns on
// the features [obs, obs², t/100, (t/100)², (t/100)³, 1] of that task's rollouts.

#include <torch/torch.h>

#include "agents/trajectories.h"

namespace metarl::agents {

class LinearFeatureBaseline {
 public:
  // Ridge coefficient, raised ×10 (up to 5 times) while the solve is not finite,
  // as in rllab.
  explicit LinearFeatureBaseline(double ridge = 1e-5) : ridge_(ridge) {}

  // [T, R, H, 2·obs_dim + 4], float64. Observations are clipped to ±10 first.
  static torch::Tensor features(const Trajectories& trajectories);
  // Fits each task on its valid steps and predicts: values [T, R, H] in the dtype
  // of `returns`, 0 where the mask is 0. No graph is recorded.
  torch::Tensor fit_predict(const Trajectories& trajectories, const torch::Tensor& returns) const;

 private:
  double ridge_;
};

}  // namespace metarl::agents
