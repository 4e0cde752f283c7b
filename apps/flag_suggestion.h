#pragma once
// "did you mean --iterations?" for a flag CLI11 did not expect: the closest long option
// of the subcommand that was being parsed (or of metarl itself), by the same edit
// distance as config keys (meta/config_schema.h's closest_name).

#include <CLI/CLI.hpp>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "meta/config_schema.h"

namespace metarl::apps {

// `message` is CLI11's parse error ("The following arguments were not expected: 3
// --itrations"); returns "metarl: did you mean '--iterations'? (for '--itrations')"
// lines, or "" when no unexpected flag is close to an option.
inline std::string flag_suggestion(const CLI::App& app, const std::string& message) {
  const CLI::App* command = &app;
  for (const CLI::App* sub : app.get_subcommands()) command = sub;  // the parsed one
  std::vector<std::string> names;  // long option names, dashes as underscores
  for (const CLI::Option* option : command->get_options()) {
    for (std::string name : option->get_lnames()) {
      std::replace(name.begin(), name.end(), '-', '_');
      names.push_back(name);
    }
  }
  std::string out;
  std::istringstream words(message);
  std::string word;
  while (words >> word) {
    if (word.rfind("--", 0) != 0 || word.size() < 3) continue;
    std::string flag = word.substr(2, word.find('=') == std::string::npos ? std::string::npos : word.find('=') - 2);
    const std::string closest = meta::config_detail::closest_name(flag, names);
    if (closest.empty()) continue;
    std::string suggestion = "--" + closest;
    std::replace(suggestion.begin(), suggestion.end(), '_', '-');
    out += (out.empty() ? "" : "\n") + std::string("metarl: did you mean '") + suggestion + "'? (for '" +
           quoted_value(word.substr(0, 80)) + "')";
  }
  return out;
}

}  // namespace metarl::apps
