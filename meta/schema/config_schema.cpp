#include "meta/schema/config_schema.h"

#include <sys/stat.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <tuple>

#include "envs/mixture_env.h"
#include "envs/registry.h"

namespace metarl::meta {

void config_values::bad_value(const std::string& key, const std::string& value, const std::string& expected) {
  throw UsageError("config key '" + quoted_value(key) + "': value '" + quoted_value(value) + "' is invalid; expected " +
                   expected);
}

namespace {

using config_values::bad_value;

std::string trim_impl(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

long long parse_integer(const std::string& key, const std::string& value, long long low, long long high) {
  const std::string expected = "an integer in [" + std::to_string(low) + ", " + std::to_string(high) + "]";
  const std::string text = trim_impl(value);
  if (text.empty()) bad_value(key, value, expected);
  char* end = nullptr;
  errno = 0;
  const long long parsed = std::strtoll(text.c_str(), &end, 10);
  if (errno == ERANGE || *end != '\0' || parsed < low || parsed > high) bad_value(key, value, expected);
  return parsed;
}

double parse_real(const std::string& key, const std::string& value, double low, double high) {
  std::ostringstream expected;
  expected << "a number in [" << low << ", " << high << "]";
  const std::string text = trim_impl(value);
  if (text.empty()) bad_value(key, value, expected.str());
  char* end = nullptr;
  errno = 0;
  const double parsed = std::strtod(text.c_str(), &end);
  if (errno == ERANGE || *end != '\0' || !std::isfinite(parsed) || parsed < low || parsed > high) {
    bad_value(key, value, expected.str());
  }
  return parsed;
}

bool parse_bool(const std::string& key, const std::string& value) {
  const std::string text = trim_impl(value);
  if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "0" || text == "no" || text == "off") return false;
  bad_value(key, value, "true or false");
}

// envs::shortest_decimal, except that whole numbers below 10^17 keep their digits
// (100000, not 1e+05).
std::string format_real(double value) {
  const std::string shortest = envs::shortest_decimal(value);
  if (shortest.find('e') == std::string::npos) return shortest;
  // 10 reads back from "1e+01" too, but a person writes 10. More digits leave exponent
  // form for whole numbers only; the first plain form that reads back is theirs.
  for (int digits = 1; digits <= std::numeric_limits<double>::max_digits10; ++digits) {
    std::ostringstream plain;
    plain.precision(digits);
    plain << value;
    if (plain.str().find('e') == std::string::npos && std::strtod(plain.str().c_str(), nullptr) == value) {
      return plain.str();
    }
  }
  return shortest;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}


}  // namespace

namespace config_values {

long long parse_integer(const std::string& key, const std::string& value, long long low, long long high) {
  return meta::parse_integer(key, value, low, high);
}
double parse_real(const std::string& key, const std::string& value, double low, double high) {
  return meta::parse_real(key, value, low, high);
}
bool parse_bool(const std::string& key, const std::string& value) { return meta::parse_bool(key, value); }
std::string format_real(double value) { return meta::format_real(value); }

std::string parse_choice(const std::string& key, const std::string& value, const std::vector<std::string>& choices) {
  const std::string text = trim_impl(value);
  if (std::find(choices.begin(), choices.end(), text) == choices.end()) {
    std::string expected = "one of:";
    for (const auto& choice : choices) expected += " " + choice;
    bad_value(key, value, expected);
  }
  return text;
}

std::string parse_name(const std::string& key, const std::string& value) {
  const std::string text = trim_impl(value);
  if (text.empty()) bad_value(key, value, "a non-empty name");
  // Names are printed (run headers, reports, --print-config) and written back into
  // YAML bare: the registry's rule for environment names.
  if (!envs::is_plain_name(text)) bad_value(key, value, std::string("a name of ") + envs::kPlainNameRule);
  return text;
}

std::string parse_environment(const std::string& key, const std::string& value) {
  if (!envs::is_mixture_name(value)) return parse_name(key, value);
  std::vector<std::string> families;
  try {
    families = envs::mixture_families(value);
  } catch (const UsageError& e) {
    throw UsageError("config key '" + key + "': " + e.what());
  }
  std::string joined;
  for (const auto& family : families) joined += (joined.empty() ? "" : ",") + parse_name(key, family);
  return joined;
}

std::vector<double> parse_weights(const std::string& key, const std::string& value) {
  std::string text = value;
  std::replace_if(text.begin(), text.end(), [](char ch) { return ch == ',' || ch == '[' || ch == ']'; }, ' ');
  const std::string expected = "non-negative weights, one per family of env, e.g. 2,1 (empty: equal shares)";
  if (value.size() > 4096) bad_value(key, value, expected);
  std::istringstream in(text);
  std::vector<double> weights;
  std::string item;
  while (in >> item) {
    try {
      weights.push_back(meta::parse_real(key, item, 0.0, 1e9));
    } catch (const UsageError&) {
      bad_value(key, value, expected);
    }
  }
  return weights;
}

std::string format_weights(const std::vector<double>& weights) {
  std::string out = "[";
  for (size_t i = 0; i < weights.size(); ++i) out += (i ? ", " : "") + meta::format_real(weights[i]);
  return out + "]";
}

std::string parse_device(const std::string& key, const std::string& value) {
  const std::string text = trim_impl(value);
  const bool cuda_index = text.rfind("cuda:", 0) == 0 && text.size() > 5 &&
                          text.find_first_not_of("0123456789", 5) == std::string::npos;
  if (text != "cpu" && text != "cuda" && !cuda_index) bad_value(key, value, "cpu, cuda or cuda:N");
  return text;
}

// "100,100", "[100, 100]" or "100 100" → {100, 100}.
std::vector<std::int64_t> parse_layer_sizes(const std::string& key, const std::string& value) {
  std::string text = value;
  std::replace_if(text.begin(), text.end(), [](char ch) { return ch == ',' || ch == '[' || ch == ']'; }, ' ');
  std::istringstream in(text);
  std::vector<std::int64_t> sizes;
  std::string item;
  const std::string expected = "a list of 1 to 8 layer sizes in [1, 4096], e.g. 100,100";
  // Eight sizes of four digits with separators fit in far less: refuse a long text
  // before splitting it (a 16 MB list took 53 s and 4.2 GB).
  if (value.size() > 256) bad_value(key, value, expected);
  while (in >> item) {
    try {
      sizes.push_back(meta::parse_integer(key, item, 1, 4096));
    } catch (const UsageError&) {
      bad_value(key, value, expected);
    }
  }
  if (sizes.empty() || sizes.size() > 8) bad_value(key, value, expected);
  return sizes;
}

namespace {
// The entries of a list of per-parameter items ("a, b" or "[a, b]"), trimmed, empty ones
// skipped ("[ ]", or a trailing comma as YAML's flow lists allow). A few task parameters
// per environment: a long text is refused before it is split.
std::vector<std::string> task_parameter_entries(const std::string& key, const std::string& value,
                                                const std::string& expected) {
  if (value.size() > 4096) bad_value(key, value, expected);
  std::string text = trim_impl(value);
  if (!text.empty() && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  std::vector<std::string> entries;
  std::istringstream in(text);
  for (std::string entry; std::getline(in, entry, ',');) {
    entry = trim_impl(entry);
    if (!entry.empty()) entries.push_back(entry);
  }
  return entries;
}
}  // namespace

std::vector<envs::TaskRangeOverride> parse_task_ranges(const std::string& key, const std::string& value) {
  const std::string expected =
      "a list of NAME=V (fixed), NAME=LOW..HIGH (training range) or NAME=LOW..HIGH/LOW..HIGH (training / held-out "
      "range), e.g. mass=0.5, target_angle=-0.78..0.78/-0.9..0.9";
  std::vector<envs::TaskRangeOverride> ranges;
  const auto number = [&](const std::string& item) {
    try {
      return meta::parse_real(key, item, -std::numeric_limits<double>::max(), std::numeric_limits<double>::max());
    } catch (const UsageError&) {
      bad_value(key, value, expected);
    }
  };
  // "LOW..HIGH" or "V" → {low, high}.
  const auto interval = [&](const std::string& item) {
    const auto dots = item.find("..");
    if (dots == std::string::npos) {
      const double v = number(item);
      return std::make_pair(v, v);
    }
    return std::make_pair(number(item.substr(0, dots)), number(item.substr(dots + 2)));
  };
  for (const std::string& entry : task_parameter_entries(key, value, expected)) {
    const auto equals = entry.find('=');
    if (equals == std::string::npos) bad_value(key, value, expected);
    envs::TaskRangeOverride range;
    range.parameter = trim_impl(entry.substr(0, equals));
    if (range.parameter.empty() || !envs::is_plain_name(range.parameter)) bad_value(key, value, expected);
    const std::string ranges_text = trim_impl(entry.substr(equals + 1));
    const auto slash = ranges_text.find('/');
    std::tie(range.train_low, range.train_high) = interval(trim_impl(ranges_text.substr(0, slash)));
    if (slash == std::string::npos) {
      range.heldout_low = range.train_low;
      range.heldout_high = range.train_high;
    } else {
      std::tie(range.heldout_low, range.heldout_high) = interval(trim_impl(ranges_text.substr(slash + 1)));
    }
    ranges.push_back(range);
  }
  return ranges;
}

std::string format_task_ranges(const std::vector<envs::TaskRangeOverride>& ranges) {
  const auto interval = [](double low, double high) {
    return low == high ? format_real(low) : format_real(low) + ".." + format_real(high);
  };
  std::string out = "[";
  for (size_t i = 0; i < ranges.size(); ++i) {
    const auto& r = ranges[i];
    out += (i ? ", " : "") + r.parameter + "=" + interval(r.train_low, r.train_high);
    if (r.heldout_low != r.train_low || r.heldout_high != r.train_high) {
      out += "/" + interval(r.heldout_low, r.heldout_high);
    }
  }
  return out + "]";
}

std::vector<envs::TaskProcessTerm> parse_task_process(const std::string& key, const std::string& value) {
  const std::string expected =
      "a list of NAME=walk(STD) (random walk), NAME=switch(PROBABILITY) (redrawn with that probability per round), "
      "NAME=drift(STEP) or NAME=scale(FACTOR) (per round), e.g. goal_x=walk(0.05), mass=scale(0.9)";
  std::vector<envs::TaskProcessTerm> terms;
  for (const std::string& entry : task_parameter_entries(key, value, expected)) {
    const auto equals = entry.find('=');
    const auto open = entry.find('(');
    if (equals == std::string::npos || open == std::string::npos || open < equals || entry.back() != ')') {
      bad_value(key, value, expected);
    }
    envs::TaskProcessTerm term;
    term.parameter = trim_impl(entry.substr(0, equals));
    if (term.parameter.empty() || !envs::is_plain_name(term.parameter)) bad_value(key, value, expected);
    const std::string kind = trim_impl(entry.substr(equals + 1, open - equals - 1));
    bool known = false;
    for (const auto& [candidate, name] : envs::task_process_kind_names()) {
      if (name == kind) {
        term.kind = candidate;
        known = true;
      }
    }
    if (!known) bad_value(key, value, expected);
    const std::string number = trim_impl(entry.substr(open + 1, entry.size() - open - 2));
    try {
      term.value = meta::parse_real(key, number, -std::numeric_limits<double>::max(), std::numeric_limits<double>::max());
    } catch (const UsageError&) {
      bad_value(key, value, expected);
    }
    terms.push_back(term);
  }
  return terms;
}

std::string format_task_process(const std::vector<envs::TaskProcessTerm>& terms) {
  return envs::format_task_process(terms);
}

std::string format_layer_sizes(const std::vector<std::int64_t>& sizes) {
  std::string out = "[";
  for (size_t i = 0; i < sizes.size(); ++i) out += (i ? ", " : "") + std::to_string(sizes[i]);
  return out + "]";
}

}  // namespace config_values

namespace config_detail {

std::string trim(const std::string& s) { return trim_impl(s); }

std::string closest_name(const std::string& unknown, const std::vector<std::string>& names) {
  // Key names are short; a long unknown name is no typo of one (and edit distance on
  // it would cost its length times each name's).
  if (unknown.size() > 64) return "";
  std::string normalized = unknown;
  std::replace(normalized.begin(), normalized.end(), '-', '_');
  std::string best;
  size_t best_distance = std::max<size_t>(3, normalized.size() / 3) + 1;
  for (const auto& name : names) {
    const size_t d = edit_distance(normalized, name);
    if (d < best_distance) {
      best_distance = d;
      best = name;
    }
  }
  return best;
}

namespace {

// Counts documents and nothing else.
class DocumentCounter final : public YAML::EventHandler {
 public:
  int documents = 0;
  void OnDocumentStart(const YAML::Mark&) override { ++documents; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// The number of YAML documents in `text`, counting no further than two. Not
// YAML::LoadAll: on a text that starts with a stray ',' yaml-cpp 0.7 finds an empty
// document at the same place forever and fills the memory (found by the fuzz test).
int yaml_documents_up_to_two(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentCounter counter;
  for (int call = 0; call < 2 && parser.HandleNextDocument(counter); ++call) {
  }
  return counter.documents;
}

}  // namespace

void for_each_yaml_entry(const std::string& yaml_text, const std::string& origin,
                         const std::function<void(const std::string&, const std::string&)>& apply) {
  YAML::Node root;
  try {
    if (yaml_documents_up_to_two(yaml_text) > 1) {
      throw UsageError(origin + ": holds more than one YAML document (separated by ---); a config is one mapping");
    }
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw UsageError(origin + ": malformed YAML: " + quoted_value(e.what(), 300));
  }
  if (root.IsNull()) return;  // an empty file changes nothing
  if (!root.IsMap()) throw UsageError(origin + ": expected a mapping of config keys to values");
  std::set<std::string> seen;
  for (const auto& item : root) {
    if (!item.first.IsScalar()) {
      throw UsageError(origin + ": a key at line " + std::to_string(item.first.Mark().line + 1) +
                       " is not a name (a list or mapping as a key)");
    }
    const std::string key = item.first.Scalar();
    // yaml-cpp keeps the last of two equal keys; a config that says one thing twice
    // is a mistake to point at, not to resolve silently.
    if (!seen.insert(key).second) {
      throw UsageError(origin + ": key '" + quoted_value(key) + "' appears twice (again at line " +
                       std::to_string(item.first.Mark().line + 1) + ")");
    }
    const YAML::Node& node = item.second;
    std::string value;
    if (node.IsScalar()) {
      value = node.Scalar();
    } else if (node.IsSequence()) {
      for (const auto& element : node) {
        if (!element.IsScalar()) {
          throw UsageError(origin + ": key '" + quoted_value(key) + "': nested lists are not allowed");
        }
        value += (value.empty() ? "" : ",") + element.Scalar();
      }
    } else {
      throw UsageError(origin + ": key '" + quoted_value(key) + "': expected a value, got " +
                       (node.IsMap() ? "a mapping" : "nothing"));
    }
    apply(key, value);
  }
}

std::string read_text_file(const std::string& path) {
  // A config is a few kB. Only a regular file is read, and at most kMaxConfigBytes of
  // it: /dev/zero, a FIFO or an endless stream would otherwise fill the memory.
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) {
    throw UsageError("config file '" + quoted_value(path) + "' cannot be read: " + std::strerror(errno));
  }
  if (!S_ISREG(status.st_mode)) {
    throw UsageError("config file '" + quoted_value(path) + "' is not a regular file (a device, FIFO or directory)");
  }
  if (status.st_size > kMaxConfigBytes) {
    throw UsageError("config file '" + quoted_value(path) + "' has " + std::to_string(status.st_size) +
                     " bytes; a config holds at most " + std::to_string(kMaxConfigBytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError("config file '" + quoted_value(path) + "' cannot be read: " + std::strerror(errno));
  std::string text(static_cast<size_t>(kMaxConfigBytes) + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > static_cast<size_t>(kMaxConfigBytes)) {
    throw UsageError("config file '" + quoted_value(path) + "' grew past " + std::to_string(kMaxConfigBytes) +
                     " bytes while being read");
  }
  return text;
}

}  // namespace config_detail

}  // namespace metarl::meta
