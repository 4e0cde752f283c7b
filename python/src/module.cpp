// `import metarl`: the compiled core, metarl._core. The pure-Python package around it
// (python/metarl) adds the Gymnasium-style adapter and the dict/YAML front of train and
// evaluate.

#include <pybind11/pybind11.h>

#include <stdexcept>

#include "bindings.h"
#include "envs/errors.h"
#include "envs/version.h"

namespace metarl::python {

PYBIND11_MODULE(_core, module) {
  module.doc() = "metarl's C++ core: batched environments, training, evaluation, the meta-learner";
  module.attr("__version__") = METARL_VERSION;
  // A usage error (a bad key, value, name or file) is the caller's: ValueError, its
  // message as the command line prints it. Everything else keeps pybind11's mapping
  // (std::runtime_error → RuntimeError, …); a run stopped by Ctrl-C is KeyboardInterrupt.
  py::register_exception_translator([](std::exception_ptr error) {
    try {
      if (error) std::rethrow_exception(error);
    } catch (const UsageError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const Interrupted& e) {
      // Ctrl-C during metarl.train: the run stopped after its iteration, with a checkpoint.
      PyErr_SetString(PyExc_KeyboardInterrupt, e.what());
    }
  });
  bind_environments(module);
  bind_python_envs(module);
  bind_training(module);
}

}  // namespace metarl::python
