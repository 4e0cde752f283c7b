// Environments from Python: metarl.make_env(name, batch_size, seed) and its task
// distribution. Observations, rewards and flags are NumPy arrays that view the
// environment's own buffers (no copy): each step overwrites them in place, and each
// keeps the environment alive (its base object).

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "bindings.h"
#include "envs/conformance.h"
#include "envs/errors.h"
#include "envs/plugin.h"
#include "envs/registry.h"
#include "envs/rng.h"
#include "envs/task_distribution.h"

namespace metarl::python {

namespace {

using envs::BatchedEnv;

// A [rows, columns] (or [rows] when columns is 0) array over `data`, kept valid by `owner`.
template <typename T>
py::array_t<T> view(const T* data, py::ssize_t rows, py::ssize_t columns, const py::object& owner) {
  if (columns == 0) return py::array_t<T>({rows}, {static_cast<py::ssize_t>(sizeof(T))}, data, owner);
  return py::array_t<T>({rows, columns},
                        {static_cast<py::ssize_t>(sizeof(T)) * columns, static_cast<py::ssize_t>(sizeof(T))}, data,
                        owner);
}

py::array read_only(py::array array) {
  array.attr("setflags")(py::arg("write") = false);
  return array;
}

// The arrays of an environment's current step, read-only views.
py::tuple step_views(const py::object& self) {
  const auto& env = self.cast<const BatchedEnv&>();
  const py::ssize_t rows = env.batch_size();
  const py::ssize_t dim = env.spec().observation_dim;
  return py::make_tuple(read_only(view(env.observations(), rows, dim, self)),
                        read_only(view(env.rewards(), rows, 0, self)),
                        read_only(view(reinterpret_cast<const bool*>(env.terminated()), rows, 0, self)),
                        read_only(view(reinterpret_cast<const bool*>(env.truncated()), rows, 0, self)));
}

envs::TaskBatch task_batch_of(const py::array_t<double, py::array::c_style | py::array::forcecast>& tasks,
                              int num_parameters) {
  if (tasks.ndim() != 2 || tasks.shape(1) != num_parameters) {
    throw UsageError("tasks: expected an array of shape [n, " + std::to_string(num_parameters) +
                     "] (one row of task parameters per task), got " + std::to_string(tasks.ndim()) + " dimensions");
  }
  envs::TaskBatch batch;
  batch.num_tasks = static_cast<int>(tasks.shape(0));
  batch.num_parameters = num_parameters;
  batch.values.assign(tasks.data(), tasks.data() + tasks.size());
  return batch;
}

py::array_t<double> tasks_array(const envs::TaskBatch& batch) {
  py::array_t<double> out({static_cast<py::ssize_t>(batch.num_tasks), static_cast<py::ssize_t>(batch.num_parameters)});
  std::copy(batch.values.begin(), batch.values.end(), out.mutable_data());
  return out;
}

}  // namespace

void bind_environments(py::module_& m) {
  py::class_<envs::TaskParameter>(m, "TaskParameter", "One named, unit-carrying parameter of a task")
      .def(py::init([](std::string name, std::string unit, std::string description, double default_value,
                       double train_low, double train_high, double heldout_low, double heldout_high) {
             return envs::TaskParameter{std::move(name), std::move(unit), std::move(description), default_value,
                                        train_low, train_high, heldout_low, heldout_high};
           }),
           py::arg("name"), py::arg("unit"), py::arg("description"), py::arg("default"), py::arg("train_low"),
           py::arg("train_high"), py::arg("heldout_low"), py::arg("heldout_high"),
           "A task parameter for register_env: `name` in `unit` (e.g. \"goal_x\", \"m\"), its `default`, the "
           "training range [train_low, train_high] and the held-out range [heldout_low, heldout_high], which "
           "contains it; the ranges are checked when the distribution is built (register_env: ValueError)")
      .def_readonly("name", &envs::TaskParameter::name,
                    "The parameter's name, e.g. \"goal_x\"")
      .def_readonly("unit", &envs::TaskParameter::unit,
                    "Its unit, e.g. \"m\" (metres)")
      .def_readonly("description", &envs::TaskParameter::description,
                    "What it changes in the problem")
      .def_readonly("default", &envs::TaskParameter::default_value,
                    "The default task's value, in `unit`")
      .def_readonly("train_low", &envs::TaskParameter::train_low,
                    "The training range's lower end, inclusive, in `unit`")
      .def_readonly("train_high", &envs::TaskParameter::train_high,
                    "The training range's upper end, inclusive, in `unit`")
      .def_readonly("heldout_low", &envs::TaskParameter::heldout_low,
                    "The held-out range's lower end, in `unit` (at most train_low)")
      .def_readonly("heldout_high", &envs::TaskParameter::heldout_high,
                    "The held-out range's upper end, in `unit` (at least train_high)")
      .def(
          "__repr__",
          [](const envs::TaskParameter& p) {
            return "TaskParameter(" + p.name + " [" + p.unit + "], train [" + std::to_string(p.train_low) + ", " +
                   std::to_string(p.train_high) + "], heldout [" + std::to_string(p.heldout_low) + ", " +
                   std::to_string(p.heldout_high) + "])";
          },
          "The name, unit and both ranges, on one line");

  py::class_<envs::TaskDistribution>(m, "TaskDistribution", "The tasks of an environment and their splits")
      .def_property_readonly("parameters", &envs::TaskDistribution::parameters,
                             "The task parameters (TaskParameter), in the order of a task row's columns")
      .def_property_readonly("names",
                             [](const envs::TaskDistribution& d) {
                               std::vector<std::string> names;
                               for (const auto& p : d.parameters()) names.push_back(p.name);
                               return names;
                             },
                             "The parameters' names, in the order of a task row's columns")
      .def_property_readonly("has_heldout", &envs::TaskDistribution::has_heldout,
                             "False when the held-out ranges equal the training ranges (no held-out tasks exist)")
      .def(
          "sample",
          [](const envs::TaskDistribution& d, int n, const std::string& split, std::uint64_t seed) {
            if (n < 1) throw UsageError("sample: n must be at least 1, got " + std::to_string(n));
            Rng rng(seed);
            return tasks_array(d.sample(n, envs::parse_split(split), rng));
          },
          py::arg("n"), py::arg("split") = "train", py::arg("seed") = 0,
          "n tasks of a split (train, test or heldout) drawn from `seed`: [n, parameters] float64. ValueError when "
          "n < 1 or the split is not one of the three")
      .def(
          "defaults", [](const envs::TaskDistribution& d, int n) { return tasks_array(d.defaults(n)); },
          py::arg("n"), "n copies of the default task: [n, parameters] float64");

  py::class_<BatchedEnv>(m, "Env",
                         "A batched environment: B rows stepped together. Arrays returned by reset/step view its "
                         "buffers and are overwritten by the next step; copy them to keep them.")
      .def_property_readonly("name", [](const BatchedEnv& e) { return e.spec().name; },
                             "The environment's registered name")
      .def_property_readonly("batch_size", &BatchedEnv::batch_size,
                             "B, the number of rows stepped together")
      .def_property_readonly("observation_dim", [](const BatchedEnv& e) { return e.spec().observation_dim; },
                             "The length of one row's observation")
      .def_property_readonly("action_dim", [](const BatchedEnv& e) { return e.spec().action_dim; },
                             "The length of one row's action (discrete actions: 1, the index)")
      .def_property_readonly("discrete_actions", [](const BatchedEnv& e) { return e.spec().discrete_actions; },
                             "True when an action is one index in [0, num_actions), passed to step as [B, 1]")
      .def_property_readonly("num_actions", [](const BatchedEnv& e) { return e.spec().num_actions; },
                             "The number of discrete actions (0 for continuous actions)")
      .def_property_readonly("action_low", [](const BatchedEnv& e) { return e.spec().action_low; },
                             "Each continuous action component's lower bound: action_dim numbers (discrete "
                             "actions: none)")
      .def_property_readonly("action_high", [](const BatchedEnv& e) { return e.spec().action_high; },
                             "Each continuous action component's upper bound: action_dim numbers (discrete "
                             "actions: none)")
      .def_property_readonly("observation_low", [](const BatchedEnv& e) { return e.spec().observation_low; },
                             "Each observation component's lower bound: observation_dim numbers (may be -inf)")
      .def_property_readonly("observation_high", [](const BatchedEnv& e) { return e.spec().observation_high; },
                             "Each observation component's upper bound: observation_dim numbers (may be inf)")
      .def_property_readonly("max_episode_steps", [](const BatchedEnv& e) { return e.spec().max_episode_steps; },
                             "The time limit in steps: a row's episode is truncated when it reaches it")
      .def_property_readonly("description", [](const BatchedEnv& e) { return e.spec().description; },
                             "One line on what the environment is")
      .def_property_readonly("task_distribution", &BatchedEnv::task_distribution,
                             py::return_value_policy::reference_internal,
                             "The environment's tasks and their splits (TaskDistribution; keeps the environment "
                             "alive)")
      .def("seed", &BatchedEnv::seed, py::arg("seed"), "Restart every row's random stream (row r: derive_seed(seed, r))")
      .def(
          "reset",
          [](py::object self) {
            {
              py::gil_scoped_release release;
              self.cast<BatchedEnv&>().reset();
            }
            return py::object(step_views(self)[0]);
          },
          "Start a new episode in every row (tasks are kept); the observations, [B, observation_dim] float32")
      .def(
          "step",
          [](py::object self, const py::array_t<float, py::array::c_style | py::array::forcecast>& actions) {
            auto& env = self.cast<BatchedEnv&>();
            const auto& spec = env.spec();
            const py::ssize_t per_row = spec.discrete_actions ? 1 : spec.action_dim;
            if (actions.size() != static_cast<py::ssize_t>(env.batch_size()) * per_row) {
              throw UsageError("step: expected " + std::to_string(env.batch_size()) + " x " +
                               std::to_string(per_row) + " actions (batch_size x " +
                               (spec.discrete_actions ? std::string("1, the action's index") : "action_dim") +
                               "), got " + std::to_string(actions.size()));
            }
            {
              py::gil_scoped_release release;
              env.step(actions.data());
            }
            return step_views(self);
          },
          py::arg("actions"),
          "Advance every row: (observations [B, obs], rewards [B], terminated [B], truncated [B]), views. A row "
          "that ended restarts at once (its observation is the new episode's; final_observations holds the last)")
      .def_property_readonly(
          "observations", [](py::object self) { return py::object(step_views(self)[0]); },
          "The current observations, [B, observation_dim] float32, a read-only view overwritten by each step")
      .def_property_readonly("final_observations",
                             [](py::object self) {
                               const auto& env = self.cast<const BatchedEnv&>();
                               return read_only(view(env.final_observations(), env.batch_size(),
                                                     env.spec().observation_dim, self));
                             },
                             "Each row's last observation of the episode that ended at the last step (the other "
                             "rows: stale), [B, observation_dim] float32, a read-only view")
      .def_property_readonly("elapsed_steps",
                             [](py::object self) {
                               const auto& env = self.cast<const BatchedEnv&>();
                               return read_only(view(env.elapsed_steps(), env.batch_size(), 0, self));
                             },
                             "Steps taken in each row's current episode, [B] int32, a read-only view")
      .def(
          "set_tasks",
          [](BatchedEnv& env, const py::array_t<double, py::array::c_style | py::array::forcecast>& tasks) {
            env.set_tasks(task_batch_of(tasks, env.task_distribution().num_parameters()));
          },
          py::arg("tasks"),
          "Set every row's task: B rows, or T rows with B a multiple of T (task t on rows [t*B/T, (t+1)*B/T)), each "
          "a row of task parameters (float64, in task_distribution.names order). ValueError for another shape")
      .def_property_readonly("tasks",
                             [](const BatchedEnv& env) {
                               envs::TaskBatch batch;
                               batch.num_tasks = env.batch_size();
                               batch.num_parameters = env.task_distribution().num_parameters();
                               for (int r = 0; r < env.batch_size(); ++r) {
                                 batch.values.insert(batch.values.end(), env.task(r), env.task(r) + batch.num_parameters);
                               }
                               return tasks_array(batch);
                             },
                             "Each row's task parameters, [B, parameters] float64 (a copy)")
      .def("set_step_threads", &BatchedEnv::set_step_threads, py::arg("threads"),
           py::arg("min_split_microseconds") = BatchedEnv::kMinSplitStepMicroseconds,
           "Threads sharing each step over row ranges (1: the calling thread only). A step is split when that has "
           "been measured faster, never while one thread steps the rows in under min_split_microseconds (µs; <= 0: "
           "every step). ValueError for fewer than 1 thread");

  m.def(
      "make_env",
      [](const std::string& name, int batch_size, std::uint64_t seed) {
        return envs::EnvRegistry::global().make(name, batch_size, seed);
      },
      py::arg("name"), py::arg("batch_size"), py::arg("seed") = 0,
      "A batched environment by name (metarl.env_names()), batch_size rows seeded from `seed`. ValueError for an "
      "unknown name or batch_size < 1");
  m.def("derive_seed", &derive_seed, py::arg("seed"), py::arg("stream"),
        "The seed of an independent random stream (envs/rng.h): training's environment rows use stream 3");
  m.def("env_names", [] { return envs::EnvRegistry::global().names(); }, "Every registered environment's name");
  m.def(
      "describe_env", [](const std::string& name) { return envs::describe_environment(name); }, py::arg("name"),
      "What `metarl envs NAME` prints: spec, task parameters, ranges, training defaults");
  m.def(
      "training_defaults",
      [](const std::string& name) {
        const auto* entry = envs::EnvRegistry::global().find(name);
        if (!entry) envs::EnvRegistry::global().make(name, 1, 0);  // the unknown-name message
        return entry ? entry->training_defaults : std::string();
      },
      py::arg("name"), "The environment's training defaults, as YAML. ValueError for an unknown name");
  m.def(
      "load_plugin",
      [](const std::string& path) { return envs::load_plugin(path).environments; }, py::arg("path"),
      "Load a plug-in library (metarl --plugin): its environments' names");
  m.def(
      "check_env",
      [](const std::string& name) {
        std::vector<std::tuple<std::string, bool, std::string>> out;
        std::vector<envs::CheckOutcome> outcomes;
        {
          py::gil_scoped_release release;
          outcomes = envs::check_conformance(name);
        }
        for (const auto& o : outcomes) out.emplace_back(o.check, o.result.passed, o.result.message);
        return out;
      },
      py::arg("name"), "The conformance checks of `metarl check-env`: (check, passed, message) each");
}

}  // namespace metarl::python
