#pragma once
// The one place metarl calls torch::autograd::grad. Its positional booleans
// (retain_graph, create_graph, allow_unused) are easy to misplace — a public
// example passes create_graph into the retain_graph slot and silently computes a
// first-order meta-gradient — so every caller names them here instead.

#include <torch/torch.h>

#include <vector>

namespace metarl::agents {

struct GradOptions {
  // Keep the graph of `output` alive after this call (needed when it is
  // differentiated again). Defaults to create_graph, as in torch.
  bool retain_graph = false;
  // Record the gradient computation itself, so the result can be differentiated
  // again (second-order meta-gradients).
  bool create_graph = false;
  // Return an undefined tensor for inputs that `output` does not depend on,
  // instead of throwing.
  bool allow_unused = false;
};

// d output / d inputs for a scalar output.
inline std::vector<torch::Tensor> gradients(const torch::Tensor& output, const std::vector<torch::Tensor>& inputs,
                                            const GradOptions& options) {
  return torch::autograd::grad({output}, inputs, /*grad_outputs=*/{},
                               /*retain_graph=*/options.retain_graph || options.create_graph,
                               /*create_graph=*/options.create_graph,
                               /*allow_unused=*/options.allow_unused);
}

// The derivative of ⟨gradient, v⟩ = Σ_i Σ (gradient_i ⊙ v_i) with respect to `inputs`,
// detached: a Hessian-vector product H v when `gradient` is ∇f(inputs) computed with
// create_graph (its graph is kept for the next product). `gradient` and `v` match
// piece by piece in shape.
inline std::vector<torch::Tensor> gradient_dot_derivative(const std::vector<torch::Tensor>& gradient,
                                                          const std::vector<torch::Tensor>& inputs,
                                                          const std::vector<torch::Tensor>& v) {
  torch::Tensor dot;
  for (size_t i = 0; i < gradient.size(); ++i) {
    const auto term = (gradient[i] * v[i]).sum();
    dot = dot.defined() ? dot + term : term;
  }
  GradOptions keep;
  keep.retain_graph = true;
  std::vector<torch::Tensor> out = gradients(dot, inputs, keep);
  for (auto& t : out) t = t.detach();
  return out;
}

}  // namespace metarl::agents
