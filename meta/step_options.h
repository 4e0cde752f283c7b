#pragma once
// Each outer step's own options inside TrainConfig, under the step's `optimizer` name:
// a step's file pair declares its options struct and config keys (OuterStepTraits,
// meta/outer_step.h), so a new step adds no field to TrainConfig. Torch-free.
//
//   TrpoOptions& options = config.step_options.get<TrpoOptions>("trpo");

#include <any>
#include <map>
#include <string>

namespace metarl::meta {

class OuterStepOptions {
 public:
  // Step `name`'s options; its struct's defaults until a key sets one. Reading never
  // adds an entry, so a const TrainConfig is never written.
  template <typename Options>
  const Options& get(const std::string& name) const {
    const auto found = options_.find(name);
    if (found == options_.end()) {
      static const Options defaults{};
      return defaults;
    }
    return std::any_cast<const Options&>(found->second);
  }
  template <typename Options>
  Options& get(const std::string& name) {
    auto found = options_.find(name);
    if (found == options_.end()) found = options_.emplace(name, Options{}).first;
    return std::any_cast<Options&>(found->second);
  }

 private:
  std::map<std::string, std::any> options_;
};

}  // namespace metarl::meta
