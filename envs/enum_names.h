#pragma once
// One table of names per enum: the only list of an enum's allowed values, from which
// its to_string, its parser, its error messages and the config key's help all come
// (an enum listed in two places drifts). Header-only and torch-free, so every layer
// (and a plug-in) can use it.
//
//   const EnumNames<Activation>& activation_names() {
//     static const EnumNames<Activation> names{{Activation::kRelu, "relu"}, {Activation::kTanh, "tanh"}};
//     return names;
//   }

#include <string>
#include <utility>
#include <vector>

#include "envs/errors.h"

namespace metarl {

template <typename Enum>
using EnumNames = std::vector<std::pair<Enum, std::string>>;

// "a, b, c": the allowed names, in table order.
template <typename Enum>
std::string enum_choices(const EnumNames<Enum>& names) {
  std::string out;
  for (const auto& entry : names) out += (out.empty() ? "" : ", ") + entry.second;
  return out;
}

template <typename Enum>
const std::string& enum_name(const EnumNames<Enum>& names, Enum value) {
  for (const auto& entry : names) {
    if (entry.first == value) return entry.second;
  }
  static const std::string unknown = "unknown";
  return unknown;
}

// The value named `name`; UsageError "<what> '<name>' is not one of: a, b" otherwise.
template <typename Enum>
Enum parse_enum(const EnumNames<Enum>& names, const std::string& what, const std::string& name) {
  for (const auto& entry : names) {
    if (entry.second == name) return entry.first;
  }
  throw UsageError(what + " '" + quoted_value(name) + "' is not one of: " + enum_choices(names));
}

}  // namespace metarl
