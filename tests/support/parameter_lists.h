#pragma once
// Arithmetic on parameter lists (one tensor per policy parameter, agents::ParameterList)
// for the tests that compare products with the adaptation's Jacobian in double.

#include <torch/torch.h>

#include "agents/policy.h"

namespace metarl::testing {

// Standard normal tensors of `shapes`' sizes, in double.
inline agents::ParameterList random_like(const agents::ParameterList& shapes) {
  agents::ParameterList out;
  for (const auto& p : shapes) out.push_back(torch::randn(p.sizes(), torch::TensorOptions().dtype(torch::kDouble)));
  return out;
}

// Σ_i ⟨a_i, b_i⟩.
inline double dot(const agents::ParameterList& a, const agents::ParameterList& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += (a[i] * b[i]).sum().item<double>();
  return sum;
}

// Σ_i ⟨a_i, b_i⟩ as a differentiable scalar (double).
inline torch::Tensor dot_graph(const agents::ParameterList& a, const agents::ParameterList& b) {
  torch::Tensor sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kDouble));
  for (size_t i = 0; i < a.size(); ++i) sum = sum + (a[i] * b[i]).sum();
  return sum;
}

}  // namespace metarl::testing
