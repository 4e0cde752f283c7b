// A seeded random-mutation fuzz of the config reader (issue L): YAML texts mutated from
// the shipped configs and the default config, and --set strings built from the keys'
// names and hostile values, go through the train and eval schemas. Every input must be
// accepted or refused with UsageError (exit 2 at the command line); any other
// exception, a crash or a hang fails. A hang shows as CTest's timeout.
//
// METARL_FUZZ_CASES sets the number of inputs (tests/CMakeLists.txt: a short run in the
// default suite, a long one in the `slow` label); METARL_FUZZ_SEED the first seed;
// METARL_FUZZ_LAST a file that holds each YAML input while it is parsed (the one a
// hang or crash was on).

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "envs/errors.h"
#include "envs/rng.h"
#include "meta/config.h"
#include "meta/eval/evaluation.h"

namespace metarl::meta {
namespace {

long long env_number(const char* name, long long fallback) {
  const char* text = std::getenv(name);
  return text ? std::atoll(text) : fallback;
}

// The seed texts: every shipped config and the default config as YAML.
std::vector<std::string> seed_texts() {
  std::vector<std::string> texts{to_yaml(TrainConfig{})};
  for (const auto& entry : std::filesystem::recursive_directory_iterator(METARL_SOURCE_DIR "/configs")) {
    if (entry.path().extension() != ".yaml" || entry.path().parent_path().filename() == "eval") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    texts.push_back(text.str());
  }
  return texts;
}

// Bytes a mutation inserts: YAML's structure, control bytes, invalid UTF-8, digits.
const std::vector<std::string>& fragments() {
  static const std::vector<std::string> pieces{
      ":", " ", "\n", "- ", "[", "]", "{", "}", ",", "&a ", "*a", "!!str ", "!!binary ", "|", ">", "'", "\"",
      "#", "%YAML 1.2\n", "---\n", "...\n", "? ", "<<: ", "\t", std::string(1, '\0'), "\x1b[31m", "\xff\xfe",
      "\xc3", "1e999", "-1", "nan", ".inf", "-.inf", "0x10", "1_000", "99999999999999999999", "true", "null", "~",
      "env: point-nav\n", "inner_lr: 0.1\n", "hidden_sizes: [1, 2]\n", "meta_batch: 0\n", "seed: -3\n",
      std::string(300, 'x'), "\\u0000"};
  return pieces;
}

std::string mutate(std::string text, Rng& rng, const std::vector<std::string>& seeds) {
  const int edits = 1 + static_cast<int>(rng.uniform() * 6);
  for (int e = 0; e < edits; ++e) {
    const size_t at = text.empty() ? 0 : static_cast<size_t>(rng.uniform() * static_cast<double>(text.size()));
    const int kind = static_cast<int>(rng.uniform() * 6);
    if (kind == 0 && !text.empty()) {
      text[at] = static_cast<char>(static_cast<int>(rng.uniform() * 256));  // any byte
    } else if (kind == 1) {
      const auto& piece = fragments()[static_cast<size_t>(rng.uniform() * fragments().size())];
      text.insert(at, piece);
    } else if (kind == 2 && !text.empty()) {
      text.erase(at, static_cast<size_t>(rng.uniform() * 40));
    } else if (kind == 3 && !text.empty()) {
      text.insert(at, text.substr(at, static_cast<size_t>(rng.uniform() * 80)));  // repeat a span
    } else if (kind == 4) {
      // A line of another seed text, spliced in: keys that exist, in odd places.
      const auto& other = seeds[static_cast<size_t>(rng.uniform() * seeds.size())];
      const size_t from = static_cast<size_t>(rng.uniform() * static_cast<double>(other.size()));
      const size_t end = other.find('\n', from);
      text.insert(at, other.substr(from, end == std::string::npos ? std::string::npos : end - from + 1));
    } else {
      text.insert(at, "\n" + std::string(static_cast<size_t>(rng.uniform() * 12), ' '));  // indentation
    }
  }
  return text;
}

// A hostile --set string: a key of the schema (or a near miss) and a value built from
// numbers at and past every range, lists, YAML syntax and long or binary text.
std::string hostile_assignment(const std::vector<std::string>& keys, Rng& rng) {
  static const std::vector<std::string> values{
      "", "0", "-0", "1", "-1", "2147483648", "-2147483649", "18446744073709551616", "1e308", "1e309", "-1e309",
      "nan", "NaN", "inf", "-inf", "0.1", "1e-400", "  7  ", "7x", "x7", "[1,2]", "[]", "[[1]]", "{a: 1}",
      "1,2,3,4,5,6,7,8,9", "4096,4096", "4097", "true", "false", "yes", "null", "~", "point-nav", "cuda:99",
      "cuda", "cpu", std::string(5000, '9'), std::string(200, ','), "\x1b]0;title\x07", "\xff", "a=b=c", "#"};
  std::string key = keys[static_cast<size_t>(rng.uniform() * keys.size())];
  if (rng.uniform() < 0.1) key[static_cast<size_t>(rng.uniform() * key.size())] = '-';
  if (rng.uniform() < 0.05) key.clear();
  std::string value = values[static_cast<size_t>(rng.uniform() * values.size())];
  if (rng.uniform() < 0.3) value += values[static_cast<size_t>(rng.uniform() * values.size())];
  return rng.uniform() < 0.05 ? key + value : key + "=" + value;  // sometimes no '='
}

struct Outcome {
  long long accepted = 0;
  long long refused = 0;
};

// Runs `parse`; a UsageError is a refusal, anything else fails the test with the input.
template <typename Parse>
void expect_accepted_or_usage_error(Parse&& parse, const std::string& input, Outcome& outcome) {
  try {
    parse();
    ++outcome.accepted;
  } catch (const UsageError& e) {
    ++outcome.refused;
    // A message quotes a bounded prefix of the value, control bytes escaped.
    EXPECT_LT(std::string(e.what()).size(), 4000u) << input.substr(0, 200);
    EXPECT_EQ(std::string(e.what()).find('\x1b'), std::string::npos) << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a UsageError: " << e.what() << "\ninput: " << input.substr(0, 400);
  } catch (...) {
    ADD_FAILURE() << "not a std::exception\ninput: " << input.substr(0, 400);
  }
}

TEST(ConfigFuzz, EveryMutatedConfigIsAcceptedOrAUsageError) {
  const long long cases = env_number("METARL_FUZZ_CASES", 3000);
  Rng rng(static_cast<std::uint64_t>(env_number("METARL_FUZZ_SEED", 1)));
  const auto seeds = seed_texts();
  ASSERT_GT(seeds.size(), 5u);
  std::vector<std::string> train_keys;
  for (const auto& key : train_config_keys()) train_keys.push_back(key.name);
  std::vector<std::string> eval_keys;
  {
    // The eval schema's keys, from its YAML (one "key: value" per line after the comment).
    std::istringstream lines(eval_config_schema().to_yaml(EvalOptions{}));
    std::string line;
    while (std::getline(lines, line)) {
      if (!line.empty() && line[0] != '#') eval_keys.push_back(line.substr(0, line.find(':')));
    }
  }
  ASSERT_FALSE(eval_keys.empty());
  Outcome yaml;
  Outcome overrides;
  const auto started = std::chrono::steady_clock::now();
  for (long long i = 0; i < cases; ++i) {
    const auto& seed = seeds[static_cast<size_t>(rng.uniform() * seeds.size())];
    const std::string text = mutate(seed, rng, seeds);
    if (const char* last = std::getenv("METARL_FUZZ_LAST")) std::ofstream(last, std::ios::binary) << text;
    expect_accepted_or_usage_error(
        [&] {
          TrainConfig config;
          load_config_yaml(config, text, "fuzz.yaml");
          to_yaml(config);  // an accepted config prints
        },
        text, yaml);
    const std::string assignment = hostile_assignment(train_keys, rng);
    expect_accepted_or_usage_error(
        [&] {
          TrainConfig config;
          apply_override(config, assignment);
          // What was accepted reads back to the same config.
          TrainConfig read_back;
          load_config_yaml(read_back, to_yaml(config), "read back");
          if (to_yaml(read_back) != to_yaml(config)) ADD_FAILURE() << "does not read back: " << assignment;
        },
        assignment, overrides);
    const std::string eval_assignment = hostile_assignment(eval_keys, rng);
    expect_accepted_or_usage_error(
        [&] {
          EvalOptions options;
          eval_config_schema().apply_override(options, eval_assignment);
        },
        eval_assignment, overrides);
    if (::testing::Test::HasFailure()) break;  // the first failing input is the one to read
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("%lld cases in %.1f s: YAML %lld accepted, %lld refused; --set %lld accepted, %lld refused\n", cases,
              seconds, yaml.accepted, yaml.refused, overrides.accepted, overrides.refused);
  // The mutations reach both sides of the reader, or the fuzz tests nothing.
  EXPECT_GT(yaml.accepted, 0);
  EXPECT_GT(yaml.refused, 0);
  EXPECT_GT(overrides.accepted, 0);
  EXPECT_GT(overrides.refused, 0);
}

}  // namespace
}  // namespace metarl::meta
