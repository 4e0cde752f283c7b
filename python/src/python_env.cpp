// Environments written in Python: a class with batched NumPy methods, registered under
// a name, then made, checked and trained like any built-in one (slower: each step calls
// into Python under the GIL; docs/benchmarks.md measures it).
//
//   class Drift:                                  # metarl.register_env("drift", Drift, spec=..., tasks=[...])
//       def __init__(self, batch_size, seed): ...
//       def reset_row(self, row, task, uniforms): ...          # -> the row's first observation
//       def step_rows(self, actions, begin, end, tasks, observations, rewards, terminated): ...
//
// reset_row gets the row's task ([P] float64) and kResetUniforms numbers drawn from the
// row's own random stream (uniform in [0, 1)), so that resets are as reproducible as a
// C++ environment's; step_rows writes rows [begin, end) of the batch's observations,
// rewards and terminated flags in place (views of the environment's buffers) from
// actions [B, action_dim] (discrete: [B, 1], the index) and tasks [B, P].

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "bindings.h"
#include "envs/batched_env.h"
#include "envs/errors.h"
#include "envs/registry.h"

namespace metarl::python {

namespace {

// Random numbers a reset gets from its row's stream.
constexpr int kResetUniforms = 16;

// A Python object that C++ may copy without the GIL: the handle is shared, and the last
// copy drops the reference under the GIL (or leaks it when the interpreter is gone,
// as at exit, when the global registry is destroyed after Python).
using SharedObject = std::shared_ptr<py::object>;
SharedObject share(py::object object) {
  return SharedObject(new py::object(std::move(object)), [](py::object* held) {
    if (!Py_IsInitialized()) {
      held->release();
      delete held;
      return;
    }
    py::gil_scoped_acquire gil;
    delete held;
  });
}

// A Python error keeps its text and type name on the C++ side, where it is a
// std::runtime_error (the environment's guard names the environment); a Ctrl-C in the
// environment's code stops the run as an interruption (no step is half taken and then
// continued), from the last checkpoint.
[[noreturn]] void rethrow_python_error(py::error_already_set& error, const std::string& where) {
  if (error.matches(PyExc_KeyboardInterrupt)) {
    throw Interrupted(SIGINT, "KeyboardInterrupt in the environment's " + where +
                                  ": stopped in the middle of an iteration; the run's last checkpoint holds the last "
                                  "good state");
  }
  throw std::runtime_error(where + " raised " + std::string(error.what()));
}

// The views step_rows gets are of buffers the environment owns (the actions: of the
// caller, for this call only); a reference kept past the call would read or write freed
// memory later, so keeping one is refused.
void check_not_kept(const std::vector<const py::array*>& views, const std::string& where) {
  for (const auto* view : views) {
    if (view->ref_count() > 1) {
      throw std::runtime_error(where + " kept a reference to one of its array arguments; they are views of "
                               "buffers valid during the call only: copy what you keep (np.array(a, copy=True))");
    }
  }
}

// A zero-copy array over C++ memory the environment owns; the capsule only marks the
// array as a view (pybind11 copies when no base is given).
template <typename T>
py::array_t<T> buffer_view(T* data, std::vector<py::ssize_t> shape) {
  // A capsule needs a pointer; nothing is freed. One per array (a static capsule would
  // be destroyed after the interpreter, at exit).
  static int marker = 0;
  return py::array_t<T>(std::move(shape), data, py::capsule(&marker, [](void*) {}));
}

class PythonEnv final : public envs::BatchedEnv {
 public:
  PythonEnv(envs::EnvSpec spec, envs::TaskDistribution tasks, int batch_size, std::uint64_t seed, SharedObject impl)
      : BatchedEnv(std::move(spec), std::move(tasks), batch_size, seed), impl_(std::move(impl)) {}

 protected:
  void reset_row(int row, Rng& rng) override {
    py::gil_scoped_acquire gil;
    const int parameters = task_distribution().num_parameters();
    py::array_t<double> task(parameters);
    for (int p = 0; p < parameters; ++p) task.mutable_at(p) = task_value(row, p);
    py::array_t<double> uniforms(kResetUniforms);
    for (int i = 0; i < kResetUniforms; ++i) uniforms.mutable_at(i) = rng.uniform();
    try {
      const auto observation = py::array_t<float, py::array::c_style | py::array::forcecast>(
          impl_->attr("reset_row")(row, task, uniforms));
      const int dim = spec().observation_dim;
      if (observation.size() != dim) {
        throw std::runtime_error("reset_row returned " + std::to_string(observation.size()) +
                                 " numbers, expected observation_dim = " + std::to_string(dim));
      }
      std::copy(observation.data(), observation.data() + dim, observation_row(row));
    } catch (py::error_already_set& e) {
      rethrow_python_error(e, "reset_row");
    }
  }

  void step_rows(const float* actions, int begin, int end) override {
    py::gil_scoped_acquire gil;
    const auto& s = spec();
    const py::ssize_t rows = batch_size();
    const py::ssize_t per_row = s.discrete_actions ? 1 : s.action_dim;
    const int parameters = task_distribution().num_parameters();
    py::array_t<double> tasks({rows, static_cast<py::ssize_t>(parameters)});
    for (py::ssize_t r = 0; r < rows; ++r) {
      for (int p = 0; p < parameters; ++p) tasks.mutable_at(r, p) = task_value(static_cast<int>(r), p);
    }
    py::array action_view = buffer_view(const_cast<float*>(actions), {rows, per_row});
    action_view.attr("setflags")(py::arg("write") = false);
    py::array observations = buffer_view(observation_row(0), {rows, static_cast<py::ssize_t>(s.observation_dim)});
    py::array rewards = buffer_view(reward_buffer(), {rows});
    py::array terminated = buffer_view(reinterpret_cast<bool*>(terminated_buffer()), {rows});
    try {
      impl_->attr("step_rows")(action_view, begin, end, tasks, observations, rewards, terminated);
    } catch (py::error_already_set& e) {
      rethrow_python_error(e, "step_rows");
    }
    check_not_kept({&action_view, &observations, &rewards, &terminated}, "step_rows");
  }

 private:
  SharedObject impl_;
};

std::vector<float> floats(const py::dict& spec, const char* key) {
  return spec.contains(key) ? spec[key].cast<std::vector<float>>() : std::vector<float>{};
}

envs::EnvSpec spec_of(const std::string& name, const py::dict& spec) {
  envs::EnvSpec out;
  out.name = name;
  auto get_int = [&](const char* key, int fallback) { return spec.contains(key) ? spec[key].cast<int>() : fallback; };
  out.description = spec.contains("description") ? spec["description"].cast<std::string>() : name;
  out.observation_dim = get_int("observation_dim", 0);
  out.action_dim = get_int("action_dim", 0);
  out.discrete_actions = spec.contains("discrete_actions") && spec["discrete_actions"].cast<bool>();
  out.num_actions = get_int("num_actions", 0);
  out.action_low = floats(spec, "action_low");
  out.action_high = floats(spec, "action_high");
  out.observation_low = floats(spec, "observation_low");
  out.observation_high = floats(spec, "observation_high");
  out.max_episode_steps = get_int("max_episode_steps", 0);
  out.deterministic_reset = spec.contains("deterministic_reset") && spec["deterministic_reset"].cast<bool>();
  for (const auto item : spec) {
    static const std::vector<std::string> known = {
        "description", "observation_dim",  "action_dim",       "discrete_actions",  "num_actions", "action_low",
        "action_high", "observation_low", "observation_high", "max_episode_steps", "deterministic_reset"};
    const auto key = item.first.cast<std::string>();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      throw UsageError("register_env('" + name + "'): unknown spec key '" + quoted_value(key) + "'");
    }
  }
  try {
    out.validate();
  } catch (const std::invalid_argument& e) {
    throw UsageError("register_env('" + name + "'): " + e.what());
  }
  return out;
}

}  // namespace

void bind_python_envs(py::module_& m) {
  m.def(
      "register_env",
      [](const std::string& name, py::object factory, const py::dict& spec,
         const std::vector<envs::TaskParameter>& tasks, const std::string& summary,
         const std::string& training_defaults) {
        const envs::EnvSpec env_spec = spec_of(name, spec);
        envs::TaskDistribution distribution(tasks);  // std::invalid_argument → ValueError
        auto shared_factory = share(std::move(factory));
        envs::EnvEntry entry;
        entry.name = name;
        entry.summary = summary.empty() ? env_spec.description + " (Python)" : summary;
        entry.training_defaults = training_defaults;
        entry.registered_from_python = true;
        entry.make = [env_spec, distribution, shared_factory](int batch_size, std::uint64_t seed) {
          SharedObject impl;
          {
            py::gil_scoped_acquire gil;
            impl = share((*shared_factory)(batch_size, seed));
          }
          auto env = std::make_unique<PythonEnv>(env_spec, distribution, batch_size, seed, std::move(impl));
          return std::unique_ptr<envs::BatchedEnv>(std::move(env));
        };
        envs::EnvRegistry::global().add(std::move(entry));
      },
      py::arg("name"), py::arg("factory"), py::arg("spec"), py::arg("tasks"), py::arg("summary") = "",
      py::arg("training_defaults") = "",
      "Register a Python environment class (factory(batch_size, seed) -> object with reset_row and step_rows) "
      "under `name`; `spec` holds observation_dim, action_dim (or discrete_actions and num_actions), the bounds "
      "and max_episode_steps; `tasks` its TaskParameters. ValueError for an unknown spec key, an invalid spec or "
      "task range, or a name already registered");
}

}  // namespace metarl::python
