# Source rules that no compiler here can check, run by CTest as
#   cmake -DSOURCE_DIR=<repository> -P tests/source_rules.cmake
# Each rule is something that builds against Debian's LibTorch 1.13 and breaks only
# elsewhere (pip's LibTorch 2.x on a GPU machine), or a trap the project decided to
# close once. A violation prints file:line and the rule, and fails the test.
cmake_minimum_required(VERSION 3.18)
if(NOT SOURCE_DIR)
  message(FATAL_ERROR "source_rules.cmake: pass -DSOURCE_DIR=<repository root>")
endif()

set(folders envs agents meta apps bench tests examples python)
set(sources "")
foreach(folder IN LISTS folders)
  file(GLOB_RECURSE found "${SOURCE_DIR}/${folder}/*.cpp" "${SOURCE_DIR}/${folder}/*.h")
  list(APPEND sources ${found})
endforeach()

set(violations 0)
# rule(NAME REGEX ALLOWED_FILES...): every line of every source matching REGEX, outside
# the allowed files (paths relative to SOURCE_DIR), is a violation.
function(rule why regex)
  set(allowed ${ARGN})
  set(count ${violations})
  foreach(source IN LISTS sources)
    file(RELATIVE_PATH relative "${SOURCE_DIR}" "${source}")
    if(relative IN_LIST allowed)
      continue()
    endif()
    file(STRINGS "${source}" lines REGEX "${regex}")
    foreach(line IN LISTS lines)
      string(STRIP "${line}" line)
      # Comments may name the rule they follow.
      if(line MATCHES "^//")
        continue()
      endif()
      message("${relative}: ${line}\n  -> ${why}")
      math(EXPR count "${count} + 1")
    endforeach()
  endforeach()
  set(violations ${count} PARENT_SCOPE)
endfunction()

# LibTorch 2.11's <torch/torch.h> no longer declares these namespaces (issue F); the
# at:: functions (at::linalg_solve, at::fft_rfft, ...) exist in 1.13 and 2.x alike.
rule("torch::linalg/fft/special are not declared by LibTorch 2.11's <torch/torch.h>: use the at:: function"
     "torch::(linalg|fft|special)::")
# PyTorch's wheels ship their own fmt in torch/include; spdlog (and fmt) may only be
# included where torch's include directories are not: the progress target.
rule("spdlog/fmt only in meta/run/progress.cpp, which is compiled without torch's include directories (meta/CMakeLists.txt)"
     "#include *<(spdlog|fmt)/" meta/run/progress.cpp)
# Positional booleans: agents::gradients with GradOptions is the one way in.
rule("call agents::gradients (agents/autograd.h) with named GradOptions, not torch::autograd::grad"
     "torch::autograd::grad\\(" agents/autograd.h)
# An outer step's properties are its OuterStepTraits (meta/outer_step.h): its name is
# compared in the registry only, so that a new step is its file pair and one line there.
rule("ask outer_step_entry(config.optimizer).traits, not the optimizer's name"
     "optimizer *[!=]= *\"" meta/outer_steps.cpp)

# Algorithms, splits and oracle starts are enums (meta/options.h, envs/task_distribution.h,
# meta/eval/evaluation.h), their names in one table each: compare the values.
rule("compare Algorithm / Split / OracleStart values, not their names"
     "(algo|algorithm|split|oracle_start) *[!=]= *\"|\"(meta-sgd|maml|pretrained|heldout|first_run)\" *[!=]=")

list(LENGTH sources checked)
if(violations GREATER 0)
  message(FATAL_ERROR "${violations} source rule violation(s) in ${checked} files")
endif()
message("source rules: ${checked} files, no violation")
