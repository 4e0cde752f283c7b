#include "meta/outer_trpo.h"

#include <cmath>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "agents/advantages.h"
#include "agents/autograd.h"
#include "agents/surrogate.h"
#include "meta/parallel/runtime.h"
#include "meta/phase_clock.h"
#include "meta/trpo.h"

namespace metarl::meta {

namespace {

using agents::ParameterList;

// Tasks [first, end) of group `group` of `groups` over `tasks` tasks: contiguous, in order.
std::pair<int64_t, int64_t> task_group_range(int64_t tasks, int group, int groups) {
  return {tasks * group / groups, tasks * (group + 1) / groups};
}

// The groups' partial results added in group order (deterministic for a given number
// of groups).
torch::Tensor sum_in_group_order(const std::vector<torch::Tensor>& parts) {
  auto sum = parts.front();
  for (size_t g = 1; g < parts.size(); ++g) sum = sum + parts[g];
  return sum;
}

// One group of tasks' share of the KL's Hessian in (θ, α) at the old point: Jᵀ F J
// with J the group's linearised adaptation and F the Hessian in θ' of the group's
// part of the KL, Σ over its steps / (valid steps of all tasks). F v is the policy's
// analytic Gauss–Newton product with analytic kernels, else a double backward.
class TaskGroupCurvature {
 public:
  TaskGroupCurvature(const MetaLearner& learner, const std::vector<agents::Trajectories>& inner_batches,
                     const agents::AdvantageOptions& advantage_options, const ParameterList& old_adapted,
                     const agents::Trajectories& outer, const torch::Tensor& valid_steps)
      : linearized_(learner, inner_batches, advantage_options) {
    if (learner.kernels() == agents::Kernels::kAnalytic) {
      torch::NoGradGuard no_grad;
      old_policy_ = learner.policy().linearize(outer.observations, outer.actions, agents::detach(old_adapted));
      if (old_policy_) {
        row_weights_ = (outer.mask / valid_steps).reshape({outer.num_tasks(), -1});
        return;
      }
    }
    for (const auto& p : old_adapted) adapted_variable_.push_back(p.detach().clone().requires_grad_(true));
    const auto kl =
        (learner.policy().kl_divergence(outer.observations, old_adapted, adapted_variable_) * outer.mask).sum() /
        valid_steps;
    agents::GradOptions differentiable;
    differentiable.create_graph = true;
    kl_gradient_ = agents::gradients(kl, adapted_variable_, differentiable);
  }

  bool analytic() const { return old_policy_ != nullptr; }

  // Analytic kernels only: Jᵀ ∇θ' of the group's share of the surrogate at the old
  // point, where every importance weight is 1, so ∇θ' is the policy gradient
  // −Σ ŵ ∇ log π of the group's outer rollouts, divided by the tasks of the whole
  // meta-batch (the surrogate is their mean). Flat in meta_parameters() order.
  torch::Tensor surrogate_gradient(const torch::Tensor& advantages, const torch::Tensor& mask,
                                   double meta_batch_tasks) const {
    torch::NoGradGuard no_grad;
    auto u = agents::inner_loss_gradient(*old_policy_, advantages, mask);
    for (auto& piece : u) piece.div_(meta_batch_tasks);
    return flat_transposed(u);
  }

  // Jᵀ F J v, flat in meta_parameters() order (θ's pieces, then α's).
  torch::Tensor product(const ParameterList& v_theta, const ParameterList& v_alpha) const {
    const ParameterList jv = linearized_.forward(v_theta, v_alpha);
    ParameterList fjv;
    if (old_policy_) {
      torch::NoGradGuard no_grad;
      fjv = old_policy_->kl_hessian_product(jv, row_weights_);
    } else {
      fjv = agents::gradient_dot_derivative(kl_gradient_, adapted_variable_, jv);
    }
    return flat_transposed(fjv);
  }

 private:
  // Jᵀ u, flat in meta_parameters() order (θ's pieces, then α's).
  torch::Tensor flat_transposed(const ParameterList& u) const {
    auto [u_theta, u_alpha] = linearized_.transposed(u);
    u_theta.insert(u_theta.end(), u_alpha.begin(), u_alpha.end());
    return flatten_parameters(u_theta);
  }

  LinearizedAdaptation linearized_;
  ParameterList adapted_variable_;  // θ' of the group's tasks [T_g, …], a leaf at the old values
  ParameterList kl_gradient_;       // ∇θ' KL with its graph (zero at the old point; its derivative is F)
  std::unique_ptr<agents::PolicyLinearization> old_policy_;  // analytic kernels at θ' old, or null
  torch::Tensor row_weights_;       // mask / valid steps of all tasks [T_g, R·H]
};

class TrpoOuterStep final : public OuterStep {
 public:
  explicit TrpoOuterStep(const OuterStepContext& context)
      : context_(context), config_(context.config), learner_(context.learner), device_(context.device) {}

  bool differentiates_adaptation() const override { return false; }

  OuterStepResult step(const MetaBatch& batch) override {
    const TrpoStepResult step = trpo_outer_step(batch.inner, batch.adapted, batch.outer);
    OuterStepResult result;
    result.meta_loss = step.loss_before;
    result.diagnostics = {{"kl", step.kl},
                          {"backtracks", static_cast<double>(step.backtracks)},
                          {"surrogate_improvement", step.loss_before - step.loss_after}};
    if (!std::isfinite(step.loss_before)) {
      result.non_finite = "the meta-loss";
    } else if (!step.finite) {
      result.non_finite = "the meta-gradient or the KL curvature";
    }
    return result;
  }

  // TRPO keeps no state between iterations.
  void save(torch::serialize::OutputArchive&) const override {}
  void load(torch::serialize::InputArchive&) override {}

 private:
  // Re-adapts from θ, α on `inner_batches` for every evaluation; `adapted` are the
  // parameters that sampled `outer`.
  TrpoStepResult trpo_outer_step(const std::vector<agents::Trajectories>& inner_batches,
                                 const ParameterList& adapted, const agents::Trajectories& outer) {
    const agents::Policy& policy = learner_.policy();
    const agents::AdvantageOptions& advantage_options = config_.advantages;
    // Everything about the old policy is fixed before the step: its adapted parameters,
    // its log-probabilities of the outer rollouts (the importance weights'
    // denominators) and the advantages.
    // A copy: for the pretrained baseline `adapted` is θ itself, which the step changes in place.
    ParameterList old_adapted;
    for (const auto& p : adapted) old_adapted.push_back(p.detach().clone());
    const auto advantages = agents::compute_advantages(outer, advantage_options);
    torch::Tensor old_log_probs;
    {
      torch::NoGradGuard no_grad;
      old_log_probs = policy.log_prob(outer.observations, outer.actions, old_adapted);
    }
    const auto& mask = outer.mask;
    // The KL is a mean over every valid step of the whole batch, over all processes.
    const auto valid_steps =
        all_reduce_sum(context_.collectives, mask.sum(), "the count of valid steps").clamp_min(1.0);
    const int64_t local_tasks = outer.num_tasks();

    // With the analytic kernels (set below) no evaluation needs a graph: values only,
    // by task group on the workers' threads, the inner gradients by the kernels and
    // the inner rollouts' advantages computed once. The groups' sums are added in group
    // order.
    bool analytic = false;
    int groups = 1;
    const int64_t tasks = local_tasks;
    std::vector<torch::Tensor> inner_advantages;
    auto evaluate_values = [&] {
      torch::NoGradGuard no_grad;
      std::vector<torch::Tensor> loss_sums(static_cast<size_t>(groups));
      std::vector<torch::Tensor> kl_sums(static_cast<size_t>(groups));
      run_in_parallel(groups, [&](int group) {
        torch::NoGradGuard no_grad_here;  // grad mode is per thread
        const auto [begin, end] = task_group_range(tasks, group, groups);
        ParameterList params = agents::expand_to_tasks(agents::detach(learner_.theta()), end - begin);
        for (size_t j = 0; j < inner_batches.size(); ++j) {
          const auto inner = inner_batches[j].slice_tasks(begin, end);
          const auto at_params = policy.linearize(inner.observations, inner.actions, params);
          const auto gradient =
              agents::inner_loss_gradient(*at_params, inner_advantages[j].slice(0, begin, end), inner.mask);
          for (size_t i = 0; i < params.size(); ++i) params[i] = params[i] - learner_.alpha()[i].detach() * gradient[i];
        }
        const auto group_outer = outer.slice_tasks(begin, end);
        const auto group_mask = mask.slice(0, begin, end);
        const auto log_probs = policy.log_prob(group_outer.observations, group_outer.actions, params);
        loss_sums[static_cast<size_t>(group)] =
            agents::importance_weighted_loss(log_probs, old_log_probs.slice(0, begin, end),
                                             advantages.slice(0, begin, end), group_mask)
                .sum();
        ParameterList group_old_adapted;
        for (const auto& p : old_adapted) group_old_adapted.push_back(p.slice(0, begin, end));
        kl_sums[static_cast<size_t>(group)] =
            (policy.kl_divergence(group_outer.observations, group_old_adapted, params) * group_mask).sum();
      });
      SurrogateAndKl out;
      out.loss =
          share_of_task_mean(sum_in_group_order(loss_sums) / static_cast<double>(local_tasks), context_, local_tasks);
      out.kl = sum_in_group_order(kl_sums) / valid_steps;
      return out;
    };
    auto evaluate = [&](bool differentiable) {
      if (analytic && !differentiable) return evaluate_values();
      // Re-adapt from the current θ, α on the same inner rollouts: π'_new.
      ParameterList params = learner_.theta();
      const int chain_steps = static_cast<int>(inner_batches.size());
      for (int j = 0; j < chain_steps; ++j) {
        params = learner_.chain_step(params, j, chain_steps, inner_batches[static_cast<size_t>(j)], advantage_options,
                                     differentiable && !config_.first_order);
      }
      const auto log_probs = policy.log_prob(outer.observations, outer.actions, params);
      SurrogateAndKl out;
      out.loss = share_of_task_mean(agents::importance_weighted_loss(log_probs, old_log_probs, advantages, mask).mean(),
                                    context_, local_tasks);
      out.kl = (policy.kl_divergence(outer.observations, old_adapted, params) * mask).sum() / valid_steps;
      return out;
    };
    if (inner_batches.empty() || config_.first_order) {
      // No adaptation (pretrained), or a first-order one: ∇(∇KL · v) by autograd is cheap.
      return trpo_step(learner_.meta_parameters(), evaluate, trpo_options(config_), {}, context_.collectives);
    }
    // The KL's Hessian in (θ, α) as Jᵀ F J (meta_learner.h): two inner-loss Hessian-
    // vector products and one Fisher product per CG iteration, instead of a third-order
    // backward through the adaptation. Tasks are independent in J and F, and the KL is
    // a sum over tasks, so groups of tasks go to separate threads, each with its own
    // linearisations (analytic kernels) or graphs (autograd); their products are added
    // in group order (deterministic for a given number of workers).
    groups = task_groups(config_.runtime.workers, tasks, device_);
    std::vector<std::unique_ptr<TaskGroupCurvature>> curvature(static_cast<size_t>(groups));
    std::optional<PhaseScope> setup(std::in_place, Phase::kCurvatureSetup);
    run_in_parallel(groups, [&](int group) {
      const auto [begin, end] = task_group_range(tasks, group, groups);
      std::vector<agents::Trajectories> group_inner;
      for (const auto& inner : inner_batches) group_inner.push_back(inner.slice_tasks(begin, end));
      ParameterList group_old_adapted;
      for (const auto& p : old_adapted) group_old_adapted.push_back(p.slice(0, begin, end));
      curvature[static_cast<size_t>(group)] = std::make_unique<TaskGroupCurvature>(
          learner_, group_inner, advantage_options, group_old_adapted, outer.slice_tasks(begin, end), valid_steps);
    });
    setup.reset();
    const size_t num_theta = learner_.theta().size();
    auto hessian_product = [&](const torch::Tensor& v) {
      // Split the flat v into θ's and α's shapes (meta_parameters() order).
      ParameterList v_theta;
      ParameterList v_alpha;
      int64_t offset = 0;
      const auto meta_parameters = learner_.meta_parameters();
      for (size_t i = 0; i < meta_parameters.size(); ++i) {
        const int64_t n = meta_parameters[i].numel();
        auto piece = v.slice(0, offset, offset + n).view_as(meta_parameters[i]);
        (i < num_theta ? v_theta : v_alpha).push_back(piece);
        offset += n;
      }
      std::vector<torch::Tensor> products(static_cast<size_t>(groups));
      run_in_parallel(groups, [&](int group) {
        products[static_cast<size_t>(group)] = curvature[static_cast<size_t>(group)]->product(v_theta, v_alpha);
      });
      return all_reduce_sum(context_.collectives, sum_in_group_order(products), "a KL curvature product");
    };
    // With the analytic kernels the meta-gradient is Jᵀ ∇θ' too: no graph through the
    // adaptation at all (evaluate is then only asked for values).
    LossGradientFn loss_gradient;
    if (curvature.front()->analytic()) {
      analytic = true;
      for (const auto& inner : inner_batches) inner_advantages.push_back(agents::compute_advantages(inner, advantage_options));
      loss_gradient = [&] {
        // share_of_task_mean's divisor: this process's tasks alone, or the meta-batch's.
        const double meta_batch_tasks =
            static_cast<double>(context_.collectives.distributed() ? config_.meta_batch : local_tasks);
        std::vector<torch::Tensor> shares(static_cast<size_t>(groups));
        run_in_parallel(groups, [&](int group) {
          const auto [begin, end] = task_group_range(tasks, group, groups);
          shares[static_cast<size_t>(group)] = curvature[static_cast<size_t>(group)]->surrogate_gradient(
              advantages.slice(0, begin, end), mask.slice(0, begin, end), meta_batch_tasks);
        });
        return sum_in_group_order(shares);
      };
    }
    return trpo_step(learner_.meta_parameters(), evaluate, trpo_options(config_), hessian_product, context_.collectives,
                     loss_gradient);
  }

  OuterStepContext context_;
  const TrainConfig& config_;
  MetaLearner& learner_;
  torch::Device device_;
};

}  // namespace

std::unique_ptr<OuterStep> make_trpo_step(const OuterStepContext& context) {
  return std::make_unique<TrpoOuterStep>(context);
}

const TrpoOptions& trpo_options(const TrainConfig& config) { return config.step_options.get<TrpoOptions>("trpo"); }
TrpoOptions& trpo_options(TrainConfig& config) { return config.step_options.get<TrpoOptions>("trpo"); }

OuterStepTraits trpo_step_traits() {
  using C = TrainConfig;
  using O = TrpoOptions;
  OuterStepTraits traits;
  traits.follows_outer_lr = false;  // the trust region sets the step
  traits.follows_kernels = true;
  traits.step_size_keys = {"max_kl"};
  traits.config_keys = {
      real_key<C>("max_kl", "TRPO trust region: largest mean KL between old and new adapted policies",
                  step_option("trpo", &O::max_kl), 1e-8, 10.0),
      int_key<C>("cg_iterations", "TRPO conjugate-gradient iterations", step_option("trpo", &O::cg_iterations), 1,
                 1000),
      real_key<C>("cg_damping", "TRPO damping added to the KL Hessian", step_option("trpo", &O::cg_damping), 0.0,
                  10.0),
      int_key<C>("line_search_steps", "TRPO backtracking line-search steps",
                 step_option("trpo", &O::line_search_steps), 1, 1000),
      real_key<C>("line_search_ratio", "TRPO line-search shrink factor per step",
                  step_option("trpo", &O::line_search_ratio), 0.01, 0.99)};
  traits.metric_columns = {{"kl", 0.0, false},
                           {"backtracks", 0.0, true},
                           {"surrogate_improvement", std::numeric_limits<double>::quiet_NaN(), false}};
  traits.forward_passes = [](const TrainConfig& config, double backtracks) {
    const double k = config.inner_steps;
    const double b = differentiated_inner_steps(config);  // the steps J and the gradient run through
    const double products = trpo_options(config).cg_iterations + 1;
    double passes = 0;
    if (config.kernels == agents::Kernels::kAnalytic && !config.first_order) {
      // Analytic kernels: an R-op forward 2, a backward 2, an R-op backward 4 passes.
      passes += 3 * k + 3 + 6 * b + 2;           // value evaluation; gradient Jᵀ ∇θ' (b inner HVPs, one backward)
      passes += 3 * k + 1;                       // set-up: inner forwards and gradients, the outer forward
      passes += products * (6 * 2 * b + 4);      // products J v, F = Jᵀ M J at θ', Jᵀ u
    } else {
      passes += 3 * k + 2 + 2 + 6 * b;           // differentiable evaluation and its gradient
      passes += 3 * k + 4;                       // curvature set-up: inner gradients, ∇KL
      passes += products * 6 * (2 * b + 1);      // products J v, F, Jᵀ u
    }
    passes += (backtracks + 1) * (3 * k + 3);  // line-search evaluations
    return passes;
  };
  return traits;
}

}  // namespace metarl::meta
