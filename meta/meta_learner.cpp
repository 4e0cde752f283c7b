#include "meta/meta_learner.h"

#include "agents/autograd.h"
#include "agents/surrogate.h"
#include "envs/errors.h"

namespace metarl::meta {

using agents::ParameterList;

std::string to_string(Algorithm algorithm) { return algorithm == Algorithm::kMetaSgd ? "meta-sgd" : "maml"; }

Algorithm parse_algorithm(const std::string& name) {
  if (name == "meta-sgd") return Algorithm::kMetaSgd;
  if (name == "maml") return Algorithm::kMaml;
  throw UsageError("algorithm '" + name + "' is not one of: meta-sgd, maml");
}

MetaLearner::MetaLearner(std::shared_ptr<const agents::Policy> policy, Algorithm algorithm, double inner_lr,
                         std::uint64_t seed, const torch::TensorOptions& options)
    : policy_(std::move(policy)), algorithm_(algorithm) {
  theta_ = policy_->initial_parameters(seed, options);
  for (auto& p : theta_) {
    p.requires_grad_(true);
    if (learns_alpha()) {
      alpha_.push_back(torch::full_like(p, inner_lr).detach().requires_grad_(true));
    } else {
      alpha_.push_back(torch::full({}, inner_lr, options));
    }
  }
}

ParameterList MetaLearner::meta_parameters() const {
  ParameterList out = theta_;
  if (learns_alpha()) out.insert(out.end(), alpha_.begin(), alpha_.end());
  return out;
}

torch::Tensor MetaLearner::inner_loss(const ParameterList& params, const agents::Trajectories& trajectories,
                                      const agents::AdvantageOptions& advantage_options) const {
  const auto advantages = agents::compute_advantages(trajectories, advantage_options);
  const auto log_probs = policy_->log_prob(trajectories.observations, trajectories.actions, params);
  return agents::reinforce_loss(log_probs, advantages, trajectories.mask);
}

ParameterList MetaLearner::adapt_step(const ParameterList& params, const agents::Trajectories& trajectories,
                                      const agents::AdvantageOptions& advantage_options, bool create_graph) const {
  const int64_t tasks = trajectories.num_tasks();
  // Gradients need a differentiable input: in evaluation θ arrives detached.
  ParameterList inputs;
  for (const auto& p : params) inputs.push_back(p.requires_grad() ? p : p.detach().requires_grad_(true));
  const ParameterList batched = agents::is_task_batched(inputs) ? inputs : agents::expand_to_tasks(inputs, tasks);

  // Σ_t L_t: slice t of the gradient with respect to the [T, …] inputs is ∇L_t.
  const auto loss = inner_loss(batched, trajectories, advantage_options).sum();
  agents::GradOptions grad_options;
  grad_options.create_graph = create_graph;
  const auto grads = agents::gradients(loss, batched, grad_options);

  ParameterList adapted;
  adapted.reserve(batched.size());
  for (size_t i = 0; i < batched.size(); ++i) {
    adapted.push_back(batched[i] - alpha_[i] * grads[i]);  // α [shape] or [] broadcasts over [T, shape]
  }
  return adapted;
}

torch::Tensor MetaLearner::meta_loss(const ParameterList& adapted, const agents::Trajectories& validation,
                                     const agents::AdvantageOptions& advantage_options) const {
  return inner_loss(adapted, validation, advantage_options).mean();
}

}  // namespace metarl::meta
