// Training and evaluation from Python, with the command line's keys, validation and
// errors: metarl.train / metarl.evaluate (python/metarl/__init__.py turns dicts into
// the YAML these take), and the meta-learner for loops of one's own (Experiment) or
// iteration by iteration (Trainer). Long C++ work runs without the GIL.

#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <csignal>
#include <string>
#include <vector>

#include "bindings.h"
#include "envs/errors.h"
#include "meta/checkpoint.h"
#include "meta/config.h"
#include "meta/experiment.h"
#include "meta/eval/eval_report.h"
#include "meta/eval/evaluation.h"
#include "meta/eval/rounds_evaluation.h"
#include "meta/run/run_directory.h"
#include "meta/session/training_run.h"
#include "meta/parallel/runtime.h"
#include "meta/trainer.h"

namespace metarl::python {

namespace {

using agents::ParameterList;
using Overrides = std::vector<std::pair<std::string, std::string>>;

py::dict metrics_dict(const meta::IterationMetrics& metrics) {
  py::dict out;
  out["iteration"] = metrics.iteration;
  for (const auto& [name, value] : metrics.scalars()) out[py::str(name)] = value;
  return out;
}

// Ctrl-C while C++ trains: Python's handler only runs when asked (PyErr_CheckSignals),
// here once per iteration; its KeyboardInterrupt becomes a stop request, so the run
// ends after the iteration with a checkpoint, and Interrupted reaches Python as
// KeyboardInterrupt again (module.cpp).
// A KeyboardInterrupt that lands in Python code called during training (the callback,
// the logging) is the same request: it sets this flag instead of failing the run.
int python_stop_requested(const bool& interrupted_in_python) {
  py::gil_scoped_acquire gil;
  if (PyErr_CheckSignals() != 0) {
    PyErr_Clear();
    return SIGINT;
  }
  return interrupted_in_python ? SIGINT : 0;
}

// Parameters handed to the learner or sampler: θ's list, shared ([...]) or task-batched
// ([T, ...]) per tensor. A list of another length or shape would index out of range
// in C++; refused here, naming what was expected.
void check_parameters(const ParameterList& params, const meta::Experiment& experiment, const char* what) {
  const auto& theta = experiment.learner->theta();
  if (params.size() != theta.size()) {
    throw UsageError(std::string(what) + ": " + std::to_string(params.size()) + " tensors, expected " +
                     std::to_string(theta.size()) + " (theta's, in parameter_names order)");
  }
  for (size_t i = 0; i < params.size(); ++i) {
    const auto expected = theta[i].sizes();
    const auto given = params[i].sizes();
    const bool shared = given == expected;
    const bool batched = given.size() == expected.size() + 1 && given.slice(1) == expected &&
                         given[0] == experiment.local_tasks;
    if (!params[i].defined() || (!shared && !batched) || params[i].scalar_type() != theta[i].scalar_type()) {
      throw UsageError(std::string(what) + ": tensor " + std::to_string(i) + " has shape " +
                       c10::str(given) + ", expected " + c10::str(expected) + " or [" +
                       std::to_string(experiment.local_tasks) + ", ...] of it, " +
                       std::string(c10::toString(theta[i].scalar_type())));
    }
  }
}

// The config of these sources, with torch's threads set as training sets them: what
// Trainer and Experiment are built from.
meta::TrainConfig configured(const std::string& yaml_text, const Overrides& overrides) {
  auto config = meta::config_from_yaml(yaml_text, "config", overrides);
  meta::configure_threads(config.runtime.threads);
  return config;
}

// A dict as Experiment.sample returns it; its shapes are checked against each other
// and the experiment's tasks, so that a mismatch is an error here, not a crash in C++.
agents::Trajectories trajectories_of(const py::dict& d, const meta::Experiment& experiment) {
  for (const char* key : {"observations", "actions", "rewards", "mask"}) {
    if (!d.contains(key)) throw UsageError(std::string("trajectories: no '") + key + "' (use what sample() returns)");
  }
  agents::Trajectories t{d["observations"].cast<torch::Tensor>(), d["actions"].cast<torch::Tensor>(),
                         d["rewards"].cast<torch::Tensor>(), d["mask"].cast<torch::Tensor>()};
  const bool consistent = t.rewards.dim() == 3 && t.rewards.size(0) == experiment.local_tasks &&
                          t.mask.sizes() == t.rewards.sizes() && t.observations.dim() == 4 &&
                          t.actions.dim() == 4 && t.observations.sizes().slice(0, 3) == t.rewards.sizes() &&
                          t.actions.sizes().slice(0, 3) == t.rewards.sizes();
  if (!consistent) {
    throw UsageError("trajectories: expected rewards and mask [" + std::to_string(experiment.local_tasks) +
                     ", R, H], observations and actions [T, R, H, ...] (what sample() returns)");
  }
  return t;
}

py::dict trajectories_dict(const agents::Trajectories& t) {
  py::dict out;
  out["observations"] = t.observations;
  out["actions"] = t.actions;
  out["rewards"] = t.rewards;
  out["mask"] = t.mask;
  return out;
}

envs::TaskBatch task_batch(const py::array_t<double, py::array::c_style | py::array::forcecast>& tasks,
                           const meta::Experiment& experiment) {
  const int parameters = experiment.env->task_distribution().num_parameters();
  if (tasks.ndim() != 2 || tasks.shape(0) != experiment.local_tasks || tasks.shape(1) != parameters) {
    throw UsageError("tasks: expected an array of shape [" + std::to_string(experiment.local_tasks) + ", " +
                     std::to_string(parameters) + "] (meta_batch tasks; sample_tasks() draws them)");
  }
  envs::TaskBatch batch{static_cast<int>(tasks.shape(0)), parameters,
                        std::vector<double>(tasks.data(), tasks.data() + tasks.size())};
  return batch;
}

}  // namespace

void bind_training(py::module_& m) {
  m.def(
      "effective_config",
      [](const std::string& yaml_text, const Overrides& overrides) {
        const auto config = meta::config_from_yaml(yaml_text, "config", overrides);
        meta::make_environment(config, 1, 0);  // as --print-config: a known environment
        return meta::to_yaml(config);
      },
      py::arg("yaml"), py::arg("overrides") = Overrides{}, "The effective training config of these keys, as `metarl train --print-config` prints it");
  m.def(
      "train",
      [](const std::string& yaml_text, const Overrides& overrides, const std::string& out, bool resume, bool force,
         int iterations, const std::function<void(py::dict)>& callback) {
        meta::TrainConfig config;
        if (resume) {
          config = meta::resumed_config(out);
          if (iterations > 0) config = meta::extended_config(config, iterations);
        } else {
          config = meta::config_from_yaml(yaml_text, "config", overrides);
          meta::make_environment(config, 1, 0);  // names an unknown environment
        }
        meta::TrainRunOptions run;
        run.out_dir = out;
        run.resume = resume;
        run.force = force;
        bool interrupted_in_python = false;
        run.stop_requested = [&interrupted_in_python] { return python_stop_requested(interrupted_in_python); };
        if (callback) {
          run.on_iteration = [&callback, &interrupted_in_python](const meta::IterationMetrics& metrics,
                                                                 meta::MetaTrainer&) {
            py::gil_scoped_acquire gil;
            try {
              callback(metrics_dict(metrics));
            } catch (py::error_already_set& e) {
              if (!e.matches(PyExc_KeyboardInterrupt)) {
                throw std::runtime_error(std::string("the callback raised ") + e.what());
              }
              interrupted_in_python = true;  // stops after the next iteration, with a checkpoint
            }
          };
        }
        py::gil_scoped_release release;
        meta::run_training(config, run);
      },
      py::arg("yaml"), py::arg("overrides"), py::arg("out"), py::arg("resume") = false, py::arg("force") = false,
      py::arg("iterations") = 0, py::arg("callback") = nullptr,
      "Train into run directory `out` (metarl train); returns when done. resume=True continues `out` (to "
      "`iterations` when given). KeyboardInterrupt stops after the current iteration, with a checkpoint");
  m.def(
      "evaluate",
      [](const std::string& yaml_text, const Overrides& overrides,
         const std::function<void(std::string, int, int, double)>& progress) {
        meta::EvalOptions options;
        meta::eval_config_schema().load_yaml(options, yaml_text, "evaluation");
        for (const auto& [key, value] : overrides) meta::eval_config_schema().set(options, key, value);
        meta::EvalProgress on_step;
        if (progress) {
          on_step = [&progress](const std::string& method, int step, int steps, double mean) {
            py::gil_scoped_acquire gil;
            progress(method, step, steps, mean);
          };
        }
        if (options.rounds > 1) {
          // The rounds protocol (meta/eval/rounds_evaluation.h); progress counts rounds.
          meta::RoundsReport report;
          {
            py::gil_scoped_release release;
            report = meta::evaluate_rounds(options, on_step);
          }
          return py::make_tuple(meta::rounds_report_json(report), meta::rounds_report_table(report),
                                meta::rounds_task_lines(report));
        }
        meta::EvalReport report;
        {
          py::gil_scoped_release release;
          report = meta::evaluate(options, on_step);
        }
        return py::make_tuple(meta::report_json(report), meta::report_table(report), meta::report_task_lines(report));
      },
      py::arg("yaml"), py::arg("overrides"), py::arg("progress") = nullptr,
      "metarl eval's evaluation: (report JSON, table text, per-task JSON lines); nothing is written. With rounds "
      ">= 2 the rounds report (per task sequence lines)");

  py::class_<meta::MetaTrainer>(m, "Trainer",
                                "A training run in memory, one meta-iteration at a time (no run directory)")
      .def(py::init([](const std::string& yaml_text, const Overrides& overrides) {
             return std::make_unique<meta::MetaTrainer>(configured(yaml_text, overrides));
           }),
           py::arg("yaml"), py::arg("overrides") = Overrides{},
           "A run of the config in `yaml` (YAML text) with `overrides` ((key, value text) pairs, applied last, "
           "as --set); ValueError for a bad key or value")
      .def("run_iteration",
           [](meta::MetaTrainer& trainer) {
             meta::IterationMetrics metrics;
             {
               py::gil_scoped_release release;
               metrics = trainer.run_iteration();
             }
             return metrics_dict(metrics);
           },
           "One meta-iteration: its metrics.csv columns as a dict (iteration, return_before, return_after, ...). "
           "RuntimeError naming what diverged when something is not finite")
      .def_property_readonly("iterations_done", &meta::MetaTrainer::iterations_done,
                             "Meta-iterations run so far (restore sets it to the checkpoint's)")
      .def_property_readonly(
          "config", [](const meta::MetaTrainer& t) { return meta::to_yaml(t.config()); },
          "The effective config, as YAML (what `metarl train --print-config` prints)")
      .def_property_readonly("theta", [](meta::MetaTrainer& t) { return t.learner().theta(); },
                             "θ, the policy's initial parameters: the learner's own tensors")
      .def_property_readonly("alpha", [](meta::MetaTrainer& t) { return t.learner().alpha(); },
                             "α, the inner step sizes (Meta-SGD: θ's shapes; MAML: one scalar each)")
      .def("save_checkpoint", &meta::MetaTrainer::save_checkpoint, py::arg("path"),
           py::call_guard<py::gil_scoped_release>(),
           "Write a checkpoint file at `path` (θ, α, the outer step's state, the random states, the iteration count) "
           "that restore and `metarl eval` read")
      .def("restore", &meta::MetaTrainer::restore, py::arg("checkpoint"), py::call_guard<py::gil_scoped_release>(),
           "Continue from a checkpoint (file or run directory) of a run with the same config: the following "
           "iterations are the original run's. ValueError when it is unreadable or of another run shape");

  py::class_<meta::Experiment>(m, "Experiment",
                               "The parts a config builds (environment, policy, sampler, meta-learner), for loops "
                               "of one's own: sample tasks, roll out, adapt, differentiate")
      .def(py::init([](const std::string& yaml_text, const Overrides& overrides) {
             return std::make_unique<meta::Experiment>(configured(yaml_text, overrides));
           }),
           py::arg("yaml"), py::arg("overrides") = Overrides{},
           "The parts of the config in `yaml` (YAML text) with `overrides` ((key, value text) pairs, applied last, "
           "as --set); ValueError for a bad key or value")
      .def_property_readonly(
          "config", [](const meta::Experiment& e) { return meta::to_yaml(e.config); },
          "The effective config, as YAML (what `metarl train --print-config` prints)")
      .def_property_readonly("env", [](meta::Experiment& e) -> envs::BatchedEnv& { return *e.env; },
                             py::return_value_policy::reference_internal,
                             "The environment the sampler steps (Env; keeps the experiment alive)")
      .def_property_readonly("theta", [](meta::Experiment& e) { return e.learner->theta(); },
                             "θ, the policy's initial parameters: the learner's own tensors, in parameter_names "
                             "order")
      .def_property_readonly("alpha", [](meta::Experiment& e) { return e.learner->alpha(); },
                             "α, the inner step sizes (Meta-SGD: θ's shapes; MAML: one scalar each)")
      .def_property_readonly("parameter_names",
                             [](const meta::Experiment& e) {
                               std::vector<std::string> names;
                               for (const auto& spec : e.policy->parameter_specs()) names.push_back(spec.name);
                               return names;
                             },
                             "The names of θ's tensors, in theta's order")
      .def(
          "sample_tasks",
          [](meta::Experiment& e, const std::string& split) {
            const auto tasks = e.env->task_distribution().sample(e.config.meta_batch, envs::parse_split(split),
                                                                 e.task_rng);
            py::array_t<double> out({static_cast<py::ssize_t>(tasks.num_tasks),
                                     static_cast<py::ssize_t>(tasks.num_parameters)});
            std::copy(tasks.values.begin(), tasks.values.end(), out.mutable_data());
            return out;
          },
          py::arg("split") = "train",
          "meta_batch tasks of a split (train, test or heldout) from the experiment's task stream: [T, P] float64")
      .def(
          "sample",
          [](meta::Experiment& e, const ParameterList& params,
             const py::array_t<double, py::array::c_style | py::array::forcecast>& tasks) {
            check_parameters(params, e, "sample");
            const auto batch = task_batch(tasks, e);
            agents::Trajectories trajectories;
            {
              py::gil_scoped_release release;
              trajectories = e.sampler->sample(agents::detach(params), batch);
            }
            return trajectories_dict(trajectories);
          },
          py::arg("params"), py::arg("tasks"),
          "Roll out `params` (θ, or task-batched [T, ...] adapted parameters) on meta_batch tasks x rollouts: "
          "observations [T, R, H, obs], actions, rewards [T, R, H], mask. ValueError for parameters or tasks of "
          "another shape")
      .def(
          "adapt",
          [](meta::Experiment& e, const ParameterList& params, const py::dict& trajectories, bool create_graph) {
            check_parameters(params, e, "adapt");
            const auto rollouts = trajectories_of(trajectories, e);
            py::gil_scoped_release release;
            return e.learner->adapt_step(params, rollouts, e.config.advantages, create_graph);
          },
          py::arg("params"), py::arg("trajectories"), py::arg("create_graph") = false,
          "One adaptation step of every task: θ'_t = params − α ⊙ ∇L_t, [T, ...] per parameter. Never "
          "truncated: backprop_steps applies to train's chains; a loop of your own truncates by continuing from "
          "[t + (a - t).detach() for t, a in zip(theta, adapted)]")
      .def(
          "inner_loss",
          [](meta::Experiment& e, const ParameterList& params, const py::dict& trajectories) {
            check_parameters(params, e, "inner_loss");
            return e.learner->inner_loss(params, trajectories_of(trajectories, e), e.config.advantages);
          },
          py::arg("params"), py::arg("trajectories"), "Each task's inner loss: [T]")
      .def(
          "meta_loss",
          [](meta::Experiment& e, const ParameterList& adapted, const py::dict& trajectories) {
            check_parameters(adapted, e, "meta_loss");
            return e.learner->meta_loss(adapted, trajectories_of(trajectories, e), e.config.advantages);
          },
          py::arg("adapted"), py::arg("trajectories"),
          "The meta-objective on the adapted policies' rollouts; backward() through adapt(create_graph=True) gives "
          "the meta-gradient in θ and α")
      .def(
          "load_checkpoint",
          [](meta::Experiment& e, const std::string& path) {
            const auto data = meta::load_checkpoint(path);
            meta::load_parameters(data, meta::resolve_checkpoint_path(path), *e.learner);
          },
          py::arg("path"), "θ and α of a run directory or checkpoint file");
}

}  // namespace metarl::python
