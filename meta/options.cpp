#include "meta/options.h"

namespace metarl::meta {

const EnumNames<Algorithm>& algorithm_names() {
  static const EnumNames<Algorithm> names{{Algorithm::kMetaSgd, "meta-sgd"},
                                          {Algorithm::kMaml, "maml"},
                                          {Algorithm::kPretrained, "pretrained"},
                                          {Algorithm::kRandom, "random"}};
  return names;
}

std::string to_string(Algorithm algorithm) { return enum_name(algorithm_names(), algorithm); }

Algorithm parse_algorithm(const std::string& name) { return parse_enum(algorithm_names(), "algorithm", name); }

const EnumNames<OuterLrDecay>& outer_lr_decay_names() {
  static const EnumNames<OuterLrDecay> names{
      {OuterLrDecay::kNone, "none"}, {OuterLrDecay::kLinear, "linear"}, {OuterLrDecay::kCosine, "cosine"}};
  return names;
}

std::string to_string(OuterLrDecay decay) { return enum_name(outer_lr_decay_names(), decay); }

}  // namespace metarl::meta
