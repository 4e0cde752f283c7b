#include "agents/options.h"

#include <stdexcept>

namespace metarl::agents {

const EnumNames<Activation>& activation_names() {
  static const EnumNames<Activation> names{{Activation::kRelu, "relu"}, {Activation::kTanh, "tanh"}};
  return names;
}

std::string to_string(Activation activation) { return enum_name(activation_names(), activation); }

Activation parse_activation(const std::string& name) { return parse_enum(activation_names(), "activation", name); }

const EnumNames<Estimator>& estimator_names() {
  static const EnumNames<Estimator> names{
      {Estimator::kPlain, "plain"}, {Estimator::kDice, "dice"}, {Estimator::kLvc, "lvc"}};
  return names;
}

std::string to_string(Estimator estimator) { return enum_name(estimator_names(), estimator); }

Estimator parse_estimator(const std::string& name) { return parse_enum(estimator_names(), "estimator", name); }

const EnumNames<Kernels>& kernels_names() {
  static const EnumNames<Kernels> names{{Kernels::kAnalytic, "analytic"}, {Kernels::kAutograd, "autograd"}};
  return names;
}

std::string to_string(Kernels kernels) { return enum_name(kernels_names(), kernels); }

const EnumNames<ActionSpace>& action_space_names() {
  static const EnumNames<ActionSpace> names{{ActionSpace::kEnvironment, "environment"},
                                            {ActionSpace::kNormalized, "normalized"}};
  return names;
}

std::string to_string(ActionSpace space) { return enum_name(action_space_names(), space); }

ActionSpace parse_action_space(const std::string& name) {
  try {
    return parse_enum(action_space_names(), "action space", name);
  } catch (const UsageError& e) {
    throw std::invalid_argument(e.what());
  }
}

}  // namespace metarl::agents
