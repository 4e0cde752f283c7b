#pragma once
// "did you mean --iterations?" for a flag CLI11 did not expect, and "did you mean
// 'train'?" for a subcommand it does not know: the closest long option of the
// subcommand that was being parsed (or of metarl itself), or the closest subcommand, by
// the same edit distance as config keys (meta/schema/config_schema.h's closest_name).
//
// Only those two mistakes get a suggestion. After a bad value (--nproc 0, --width abc),
// a missing value or a missing file, the flag was the right one and CLI11's message
// already says what is wrong with it.

#include <CLI/CLI.hpp>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "meta/schema/config_schema.h"

namespace metarl::apps {

namespace flag_detail {

inline std::string dashes_to_underscores(std::string name) {
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

inline std::string underscores_to_dashes(std::string name) {
  std::replace(name.begin(), name.end(), '_', '-');
  return name;
}

// The first word of `args` (argv without the program) that is not an option or the
// value of metarl's own --plugin: where the subcommand should have been.
inline std::string first_command_word(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--plugin") {
      ++i;  // its value
      continue;
    }
    if (!args[i].empty() && args[i][0] != '-') return args[i];
  }
  return "";
}

}  // namespace flag_detail

// `message` is CLI11's "The following arguments were not expected: 3 --itrations";
// returns "metarl: did you mean '--iterations'? (for '--itrations')" lines, or "" when
// no unexpected flag is close to an option other than itself.
inline std::string flag_suggestion(const CLI::App& app, const std::string& message) {
  const CLI::App* command = &app;
  for (const CLI::App* sub : app.get_subcommands()) command = sub;  // the parsed one
  std::vector<std::string> names;  // long option names, dashes as underscores
  for (const CLI::Option* option : command->get_options()) {
    for (const std::string& name : option->get_lnames()) names.push_back(flag_detail::dashes_to_underscores(name));
  }
  std::string out;
  std::istringstream words(message);
  std::string word;
  while (words >> word) {
    if (word.rfind("--", 0) != 0 || word.size() < 3) continue;
    const std::string flag =
        flag_detail::dashes_to_underscores(word.substr(2, word.find('=') == std::string::npos ? std::string::npos
                                                                                            : word.find('=') - 2));
    const std::string closest = meta::config_detail::closest_name(flag, names);
    if (closest.empty() || closest == flag) continue;  // no near option, or the flag exists (given twice)
    out += (out.empty() ? "" : "\n") + std::string("metarl: did you mean '--") +
           flag_detail::underscores_to_dashes(closest) + "'? (for '" + quoted_value(word.substr(0, 80)) + "')";
  }
  return out;
}

// "metarl: did you mean 'train'? (for 'trian')" when no subcommand was parsed and the
// first word in its place is close to one; "" otherwise.
inline std::string subcommand_suggestion(const CLI::App& app, const std::vector<std::string>& args) {
  if (!app.get_subcommands().empty()) return "";
  const std::string word = flag_detail::first_command_word(args);
  if (word.empty()) return "";
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands({})) names.push_back(flag_detail::dashes_to_underscores(sub->get_name()));
  const std::string closest = meta::config_detail::closest_name(word, names);
  if (closest.empty() || closest == flag_detail::dashes_to_underscores(word)) return "";  // a command, rightly spelt
  return "metarl: did you mean '" + flag_detail::underscores_to_dashes(closest) + "'? (for '" +
         quoted_value(word.substr(0, 80)) + "')";
}

// The hint printed after CLI11's own message for a parse error: a flag or subcommand
// suggestion for the two kinds of misspelling, nothing after any other error.
inline std::string parse_error_hint(const CLI::App& app, const CLI::ParseError& error,
                                    const std::vector<std::string>& args) {
  const std::string unknown_command = subcommand_suggestion(app, args);
  if (!unknown_command.empty()) return unknown_command;
  // By type: CLI11 names a subcommand's ExtrasError after the subcommand.
  if (dynamic_cast<const CLI::ExtrasError*>(&error) == nullptr) return "";
  return flag_suggestion(app, error.what());
}

}  // namespace metarl::apps
