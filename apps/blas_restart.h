#pragma once
// The command line's half of the `blas_kernels` key (meta/parallel/blas_kernels.h):
// OpenBLAS reads OPENBLAS_CORETYPE once, when it loads, so a process that should run
// other kernels than it does starts itself again, once, with the variable set.

#include <string>

namespace metarl::apps {

// Called by train, eval and bench once their options are known and before they touch
// anything (a run directory, a lock, a rank's connection): when `choice` asks for other
// kernels than this process runs, replaces the process with the same command line and
// OPENBLAS_CORETYPE set (execv of /proc/self/exe: the same PID, so --nproc's launcher
// and a seed group's parent keep waiting on it); otherwise returns. UsageError when the
// choice cannot be had (meta::blas_coretype_to_start_with) or when OpenBLAS ignores the
// variable for a named core; a runtime error when the restart itself fails for a named
// core. `auto` goes on, with a note, with the kernels it has.
void restart_with_blas_kernels(const std::string& choice);

}  // namespace metarl::apps
