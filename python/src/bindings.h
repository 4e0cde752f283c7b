#pragma once
// The pieces of the metarl Python module (module.cpp assembles them). Thin bindings:
// every behaviour lives in the libraries; these files translate types, hold the GIL
// only around Python and give NumPy views of the environments' own buffers.

#include <torch/extension.h>

namespace metarl::python {

namespace py = pybind11;

void bind_environments(py::module_& module);   // env_bindings.cpp
void bind_python_envs(py::module_& module);    // python_env.cpp
void bind_training(py::module_& module);       // training_bindings.cpp

}  // namespace metarl::python
