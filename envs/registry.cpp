#include "envs/registry.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>

#include "envs/box2d_nav.h"
#include "envs/cartpole.h"
#include "envs/errors.h"
#include "envs/mixture_env.h"
#include "envs/mujoco_locomotion.h"
#include "envs/pendulum.h"
#include "envs/point_nav.h"

namespace metarl::envs {

EnvRegistry& EnvRegistry::global() {
  // Built-ins are added on first use rather than by static registration objects,
  // which a static link may drop and whose initialisation order is unspecified.
  static EnvRegistry registry = [] {
    EnvRegistry r;
    register_builtin_envs(r);
    return r;
  }();
  return registry;
}

bool is_plain_name(const std::string& name) {
  return name.size() <= 200 && std::all_of(name.begin(), name.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("._-+/", c) != nullptr;
         });
}

void EnvRegistry::add(EnvEntry entry) {
  if (entry.name.empty()) throw std::invalid_argument("environment registration: empty name");
  if (!is_plain_name(entry.name)) {
    throw std::invalid_argument("environment registration: name '" + quoted_value(entry.name) + "' is not " +
                                kPlainNameRule);
  }
  if (!entry.make) throw std::invalid_argument("environment '" + entry.name + "': registration without a factory");
  if (entries_.count(entry.name)) {
    throw std::invalid_argument("environment '" + entry.name + "' is already registered");
  }
  const std::string name = entry.name;
  entries_.emplace(name, std::move(entry));
}

void EnvRegistry::merge(EnvRegistry&& other) {
  for (const auto& [name, entry] : other.entries_) {
    if (entries_.count(name)) throw std::invalid_argument("environment '" + name + "' is already registered");
  }
  entries_.merge(other.entries_);
}

const EnvEntry* EnvRegistry::find(const std::string& name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<std::string> EnvRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, entry] : entries_) out.push_back(name);
  return out;
}

std::unique_ptr<BatchedEnv> EnvRegistry::make(const std::string& name, int batch_size, std::uint64_t seed) const {
  if (is_mixture_name(name)) {
    if (batch_size <= 0) {
      throw UsageError("environment '" + quoted_value(name) + "': batch size must be positive, got " +
                       std::to_string(batch_size));
    }
    return std::make_unique<MixtureEnv>(name, mixture_families(name), *this, batch_size, seed);
  }
  const EnvEntry* entry = find(name);
  if (!entry) {
    std::string known;
    for (const auto& n : names()) known += (known.empty() ? "" : ", ") + n;
    throw UsageError("unknown environment '" + quoted_value(name) + "'; known environments: " + known +
                     " (a plug-in's environments are known once it is loaded: metarl --plugin LIB ...)");
  }
  return entry->make(batch_size, seed);
}

std::string conformance_command(const std::string& name, const EnvRegistry& registry) {
  const EnvEntry* entry = registry.find(name);
  if (entry && entry->registered_from_python) {
    return "`metarl.check_env('" + quoted_value(name) + "')` in the Python process that registered it";
  }
  return "`metarl check-env " + quoted_value(name) + "`";
}

void register_builtin_envs(EnvRegistry& registry) {
  // Each environment's training defaults are the settings of its shipped config
  // (configs/), which docs/results.md measured ("Each environment's defaults"); a key
  // left out keeps TrainConfig's value.
  registry.add({"point-nav", "MAML/Meta-SGD 2D navigation: reach a goal point, reward -distance",
                [](int batch_size, std::uint64_t seed) { return std::make_unique<PointNav>(batch_size, seed); },
                "horizon: 100\n"
                "outer_lr: 0.003\n"
                "outer_lr_decay: linear\n",
                "Meta-SGD, 300 iterations of 20 tasks x 20 rollouts: -13.8 after one step on 40 test tasks "
                "(configs/point-nav-meta-sgd.yaml)"});
  registry.add({"pendulum", "Gymnasium Pendulum-v1 swing-up; tasks vary mass, length, gravity, max torque, target angle",
                [](int batch_size, std::uint64_t seed) { return std::make_unique<Pendulum>(batch_size, seed); },
                "horizon: 200\n"
                "outer_lr: 0.005\n"
                "outer_lr_decay: linear\n"
                "gae_lambda: 0.95\n",
                "Meta-SGD, 300 iterations: one step gains 29 +- 12 on 300 held-out tasks "
                "(configs/envs/pendulum-meta-sgd.yaml)"});
  registry.add({"box2d-nav",
                "Box2D disc robot pushed by a 2D force to a goal past obstacles; tasks vary goal, layout, mass, "
                "friction, damping",
                [](int batch_size, std::uint64_t seed) { return std::make_unique<Box2DNav>(batch_size, seed); },
                "iterations: 150\n"
                "horizon: 200\n"
                "outer_lr: 0.003\n"
                "outer_lr_decay: linear\n"
                "gae_lambda: 0.95\n",
                "Meta-SGD, 150 iterations, GAE lambda 0.95: one step gains 144 +- 17 on 100 held-out tasks, ahead "
                "of MAML's step on three seeds (configs/envs/box2d-nav-meta-sgd.yaml)"});
  registry.add({"cartpole",
                "Gymnasium CartPole-v1, discrete pushes; tasks vary pole, masses, gravity, force, a target position",
                [](int batch_size, std::uint64_t seed) { return std::make_unique<CartPole>(batch_size, seed); },
                "iterations: 100\n"
                "horizon: 200\n"
                "outer_lr: 0.003\n"
                "outer_lr_decay: linear\n",
                "Meta-SGD, 100 iterations, 200-step rollouts: one step gains 15 +- 2.5 on 200 held-out tasks "
                "(configs/envs/cartpole-meta-sgd.yaml)"});
  // MuJoCo locomotion: MAML's sizes (40 tasks x 20 rollouts of 200 steps, TRPO with a
  // KL bound of 0.01, inner step 0.1; Finn et al. 2017, appendix A.2). The cheetahs'
  // 60 iterations are what docs/results.md measured.
  const std::string kLocomotionDefaults =
      "meta_batch: 40\n"
      "rollouts: 20\n"
      "horizon: 200\n"
      "optimizer: trpo\n"
      "max_kl: 0.01\n"
      "inner_lr: 0.1\n";
  registry.add({"halfcheetah-vel",
                "MuJoCo half-cheetah running at a goal velocity (MAML); tasks: goal velocity 0-2 m/s, held out 2-3",
                [](int batch_size, std::uint64_t seed) { return std::make_unique<HalfCheetahVel>(batch_size, seed); },
                "iterations: 60\n" + kLocomotionDefaults,
                "Meta-SGD with MAML's sizes, 60 iterations: one step gains 102 +- 9 on 40 held-out tasks "
                "(configs/mujoco/halfcheetah-vel-meta-sgd.yaml)"});
  registry.add({"halfcheetah-dir",
                "MuJoCo half-cheetah running forward or backward (MAML); held out: 0.5-1.5 times the mass",
                [](int batch_size, std::uint64_t seed) { return std::make_unique<HalfCheetahDir>(batch_size, seed); },
                "iterations: 60\n" + kLocomotionDefaults,
                "Meta-SGD with MAML's sizes, 60 iterations: one step gains 223 +- 26 on 40 held-out tasks "
                "(configs/mujoco/halfcheetah-dir-meta-sgd.yaml)"});
  registry.add({"halfcheetah-legs",
                "MuJoCo half-cheetah running forward with weak legs (after Al-Shedivat et al.); tasks: each leg's "
                "torque fraction 0.2-1, held out 0-1",
                [](int batch_size, std::uint64_t seed) { return std::make_unique<HalfCheetahLegs>(batch_size, seed); },
                "iterations: 60\n" + kLocomotionDefaults,
                "MAML's sizes, not yet measured (weakening legs over rounds: configs/drift/halfcheetah-legs-meta-sgd.yaml)"});
  registry.add({"ant-dir",
                "ProMP's ant (Gym's physics) running in a direction uniform on the circle; held out: 0.5-1.5 times the mass",
                [](int batch_size, std::uint64_t seed) { return std::make_unique<AntDir>(batch_size, seed); },
                kLocomotionDefaults,
                "MAML's sizes, not yet measured (ProMP's own protocol: configs/promp-protocol/ant-dir-promp.yaml)"});
  registry.add({"ant-fwd-back",
                "MuJoCo ant running forward or backward along x (MAML); held out: 0.5-1.5 times the mass",
                [](int batch_size, std::uint64_t seed) { return std::make_unique<AntFwdBack>(batch_size, seed); },
                kLocomotionDefaults,
                "MAML's sizes, not yet measured (MAML's own protocol: configs/maml-protocol/ant-fwd-back-maml.yaml)"});
}

}  // namespace metarl::envs

namespace metarl::envs {

std::string describe_environment(const std::string& name, const EnvRegistry& registry) {
  const auto env = registry.make(name, 1, 0);
  const EnvSpec& spec = env->spec();
  const TaskDistribution& tasks = env->task_distribution();
  std::string out = spec.name + "\n  " + spec.description + "\n";
  char line[512];
  if (!spec.families.empty()) {
    std::snprintf(line, sizeof(line), "  observation %d (padded, then the family's one-hot), action %d, time limit %d steps\n",
                  spec.observation_dim, spec.action_dim, spec.max_episode_steps);
    out += line;
    for (const auto& family : spec.families) {
      const std::string actions = family.discrete_actions ? "one of " + std::to_string(family.num_actions) + " (index last)"
                                                          : std::to_string(family.action_dim) + " continuous in [-1, 1]";
      std::snprintf(line, sizeof(line), "    family %-16s observation %d, action %s, time limit %d steps\n",
                    family.name.c_str(), family.observation_dim, actions.c_str(), family.max_episode_steps);
      out += line;
    }
  } else if (spec.discrete_actions) {
    std::snprintf(line, sizeof(line), "  observation %d, action: one of %d, time limit %d steps\n",
                  spec.observation_dim, spec.num_actions, spec.max_episode_steps);
  } else {
    std::snprintf(line, sizeof(line), "  observation %d, action %d continuous, time limit %d steps\n",
                  spec.observation_dim, spec.action_dim, spec.max_episode_steps);
  }
  out += line;
  std::snprintf(line, sizeof(line), "  %-18s %-16s %9s %22s %22s\n", "task parameter", "unit", "default",
                "train range", "held-out range");
  out += line;
  for (const auto& p : tasks.parameters()) {
    char train[64];
    char heldout[64];
    std::snprintf(train, sizeof(train), "[%g, %g]", p.train_low, p.train_high);
    std::snprintf(heldout, sizeof(heldout), "[%g, %g]", p.heldout_low, p.heldout_high);
    std::snprintf(line, sizeof(line), "  %-18s %-16s %9g %22s %22s\n", p.name.c_str(), p.unit.c_str(),
                  p.default_value, train, heldout);
    out += line;
    out += "      " + p.description + "\n";
  }
  out += tasks.has_heldout()
             ? "  splits: train and test draw uniformly from the training ranges (test on its own seed stream);\n"
               "          heldout draws from the held-out ranges and rejects every task inside all training\n"
               "          ranges, so each held-out task has a parameter no training run saw.\n"
             : "  splits: train and test draw from the training ranges; this environment has no held-out tasks.\n";
  const EnvEntry* entry = registry.find(name);
  if (entry && !entry->training_defaults.empty()) {
    out += "  training defaults (metarl train --env " + name + " starts from these; --config, flags and --set " +
           "override them):\n";
    std::string settings = entry->training_defaults;
    if (settings.back() != '\n') settings += '\n';
    for (size_t start = 0; start < settings.size();) {
      const size_t end = settings.find('\n', start);
      out += "      " + settings.substr(start, end - start) + "\n";
      start = end + 1;
    }
    if (!entry->training_defaults_note.empty()) out += "    tuned for: " + entry->training_defaults_note + "\n";
  } else {
    out += "  training defaults: metarl's own (metarl train --help)\n";
  }
  return out;
}

}  // namespace metarl::envs
