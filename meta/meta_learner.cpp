#include "meta/meta_learner.h"

#include <stdexcept>
#include <string>

#include "agents/autograd.h"
#include "agents/surrogate.h"
#include "envs/errors.h"

namespace metarl::meta {

using agents::ParameterList;

MetaLearner::MetaLearner(std::shared_ptr<const agents::Policy> policy, Algorithm algorithm, double inner_lr,
                         std::uint64_t seed, const torch::TensorOptions& options, agents::Estimator estimator,
                         agents::Kernels kernels)
    : policy_(std::move(policy)), algorithm_(algorithm), estimator_(estimator), kernels_(kernels) {
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
                                      const agents::AdvantageOptions& advantage_options,
                                      const torch::Tensor& behaviour_log_probs) const {
  const auto advantages = agents::compute_advantages(trajectories, advantage_options);
  const auto log_probs = policy_->log_prob(trajectories.observations, trajectories.actions, params);
  return agents::inner_objective_loss(log_probs, advantages, trajectories.mask, estimator_, behaviour_log_probs);
}

ParameterList MetaLearner::inner_gradients(const ParameterList& batched_inputs, const agents::Trajectories& trajectories,
                                          const agents::AdvantageOptions& advantage_options, bool create_graph,
                                          const torch::Tensor& behaviour_log_probs) const {
  // Σ_t L_t: slice t of the gradient with respect to the [T, …] inputs is ∇L_t.
  const auto loss = inner_loss(batched_inputs, trajectories, advantage_options, behaviour_log_probs).sum();
  agents::GradOptions grad_options;
  grad_options.create_graph = create_graph;
  return agents::gradients(loss, batched_inputs, grad_options);
}

ParameterList MetaLearner::adapt_step(const ParameterList& params, const agents::Trajectories& trajectories,
                                      const agents::AdvantageOptions& advantage_options, bool create_graph,
                                      const torch::Tensor& behaviour_log_probs) const {
  const int64_t tasks = trajectories.num_tasks();
  // Gradients need a differentiable input: in evaluation θ arrives detached.
  ParameterList inputs;
  for (const auto& p : params) inputs.push_back(p.requires_grad() ? p : p.detach().requires_grad_(true));
  const ParameterList batched = agents::is_task_batched(inputs) ? inputs : agents::expand_to_tasks(inputs, tasks);

  const auto grads = inner_gradients(batched, trajectories, advantage_options, create_graph, behaviour_log_probs);

  ParameterList adapted;
  adapted.reserve(batched.size());
  for (size_t i = 0; i < batched.size(); ++i) {
    adapted.push_back(batched[i] - alpha_[i] * grads[i]);  // α [shape] or [] broadcasts over [T, shape]
  }
  return adapted;
}

void MetaLearner::set_backprop_steps(int steps) {
  if (steps < 0) throw std::invalid_argument("MetaLearner: backprop_steps " + std::to_string(steps) + " < 0");
  backprop_steps_ = steps;
}

int MetaLearner::first_differentiated_step(int chain_steps) const {
  return backprop_steps_ > 0 && backprop_steps_ < chain_steps ? chain_steps - backprop_steps_ : 0;
}

ParameterList MetaLearner::chain_step(const ParameterList& params, int step, int chain_steps,
                                      const agents::Trajectories& trajectories,
                                      const agents::AdvantageOptions& advantage_options, bool create_graph,
                                      const torch::Tensor& behaviour_log_probs) const {
  if (step >= first_differentiated_step(chain_steps)) {
    return adapt_step(params, trajectories, advantage_options, create_graph, behaviour_log_probs);
  }
  const auto values =
      agents::detach(adapt_step(params, trajectories, advantage_options, /*create_graph=*/false, behaviour_log_probs));
  // θ − sg(θ) is exactly 0 with θ's gradient (the identity), so the sum is the step's
  // values to the bit and its derivative in θ is I, in α 0.
  const auto theta = agents::expand_to_tasks(theta_, trajectories.num_tasks());
  ParameterList truncated;
  truncated.reserve(values.size());
  for (size_t i = 0; i < values.size(); ++i) truncated.push_back(values[i] + (theta[i] - theta[i].detach()));
  return truncated;
}

torch::Tensor MetaLearner::meta_loss(const ParameterList& adapted, const agents::Trajectories& validation,
                                     const agents::AdvantageOptions& advantage_options) const {
  // The outer loss is differentiated once (in θ' and through it): plain REINFORCE.
  const auto advantages = agents::compute_advantages(validation, advantage_options);
  const auto log_probs = policy_->log_prob(validation.observations, validation.actions, adapted);
  return agents::reinforce_loss(log_probs, advantages, validation.mask).mean();
}

LinearizedAdaptation::LinearizedAdaptation(const MetaLearner& learner,
                                           const std::vector<agents::Trajectories>& inner_batches,
                                           const agents::AdvantageOptions& advantage_options)
    : learner_(learner) {
  if (inner_batches.empty()) throw std::invalid_argument("LinearizedAdaptation: no inner steps");
  const int64_t tasks = inner_batches.front().num_tasks();
  ParameterList theta;
  for (const auto& p : learner.theta()) theta.push_back(p.detach().requires_grad_(true));
  ParameterList current = agents::expand_to_tasks(theta, tasks);
  const bool analytic = learner.kernels() == agents::Kernels::kAnalytic;
  const int chain_steps = static_cast<int>(inner_batches.size());
  const int first_differentiated = learner.first_differentiated_step(chain_steps);
  for (int j = 0; j < chain_steps; ++j) {
    const auto& batch = inner_batches[static_cast<size_t>(j)];
    // A truncated step (before the last b) contributes its values only: J starts at
    // the first differentiated step, with the identity in θ before it.
    const bool differentiated = j >= first_differentiated;
    Step step;
    step.input = current;
    if (analytic) {
      torch::NoGradGuard no_grad;
      step.policy_at_input = learner.policy().linearize(batch.observations, batch.actions, agents::detach(current));
    }
    if (step.policy_at_input) {
      torch::NoGradGuard no_grad;
      const auto advantages = agents::compute_advantages(batch, advantage_options);
      step.gradient = agents::inner_loss_gradient(*step.policy_at_input, advantages, batch.mask);
      if (differentiated) {
        step.inner_hessian = std::make_shared<agents::InnerLossHessian>(*step.policy_at_input, advantages,
                                                                        batch.mask, learner.estimator());
      }
    } else {
      step.gradient = learner.inner_gradients(step.input, batch, advantage_options, /*create_graph=*/differentiated);
    }
    ParameterList next;
    for (size_t i = 0; i < current.size(); ++i) {
      next.push_back((current[i] - learner.alpha()[i].detach() * step.gradient[i]).detach().requires_grad_(true));
    }
    if (differentiated) steps_.push_back(std::move(step));
    current = std::move(next);
  }
  adapted_ = agents::detach(current);
}

ParameterList LinearizedAdaptation::hessian_product(const Step& step, const ParameterList& w) const {
  if (step.policy_at_input) {
    torch::NoGradGuard no_grad;
    return step.inner_hessian->product(w);
  }
  return agents::gradient_dot_derivative(step.gradient, step.input, w);
}

ParameterList LinearizedAdaptation::forward(const ParameterList& v_theta, const ParameterList& v_alpha) const {
  const int64_t tasks = adapted_.front().size(0);
  ParameterList w = agents::expand_to_tasks(v_theta, tasks);
  for (const auto& step : steps_) {
    const auto hw = hessian_product(step, w);
    ParameterList next;
    for (size_t i = 0; i < w.size(); ++i) {
      auto out = w[i] - learner_.alpha()[i].detach() * hw[i];
      if (!v_alpha.empty()) out = out - v_alpha[i] * step.gradient[i].detach();
      next.push_back(out);
    }
    w = std::move(next);
  }
  return w;
}

std::pair<ParameterList, ParameterList> LinearizedAdaptation::transposed(const ParameterList& u_adapted) const {
  ParameterList u = u_adapted;
  ParameterList u_alpha;
  const bool learned_alpha = learner_.learns_alpha();
  if (learned_alpha) {
    for (const auto& a : learner_.alpha()) u_alpha.push_back(torch::zeros_like(a).detach());
  }
  for (auto step = steps_.rbegin(); step != steps_.rend(); ++step) {
    ParameterList scaled;
    for (size_t i = 0; i < u.size(); ++i) {
      if (learned_alpha) u_alpha[i] = u_alpha[i] - (u[i] * step->gradient[i].detach()).sum(0);
      scaled.push_back(learner_.alpha()[i].detach() * u[i]);
    }
    const auto h_scaled = hessian_product(*step, scaled);
    for (size_t i = 0; i < u.size(); ++i) u[i] = u[i] - h_scaled[i];
  }
  ParameterList u_theta;
  for (const auto& x : u) u_theta.push_back(x.sum(0));
  return {u_theta, u_alpha};
}

}  // namespace metarl::meta
