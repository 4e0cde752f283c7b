#pragma once
// Where and how torch computes: device selection and intra-op threads.

#include <torch/torch.h>

#include <functional>
#include <string>

namespace metarl::meta {

// "cpu", "cuda" or "cuda:N". Throws UsageError when CUDA is asked for and this
// LibTorch build or machine has none, naming the value.
torch::Device resolve_device(const std::string& name);

// Sets torch's intra-op threads: `threads`, or one per core when 0. Debian's
// LibTorch starts with 1 (see docs/benchmarks.md), so this is always explicit.
// OpenBLAS keeps a thread pool of its own whose idle threads spin in sched_yield
// between calls (a third of a TRPO meta-iteration's cycles on two cores); it is
// set to the same count when the loaded BLAS is OpenBLAS.
// Also calls keep_freed_memory(). Returns the number set.
int configure_threads(int threads);
// A requested thread count, or one per core when 0 (the "0 = one per core" of the
// threads, workers and env_threads keys).
int threads_or_cores(int requested);

// How many groups of tasks the TRPO curvature products split into: `workers` (one
// per core when 0), at most one per task, and a single group on a GPU (one stream).
int task_groups(int workers, int64_t tasks, const torch::Device& device);

// Runs work(0), …, work(count − 1) on `count` threads (the caller runs index 0;
// envs::RowWorkers) and, once all have finished, rethrows the exception of the
// lowest index that threw.
// Grad mode is thread-local in torch: each worker starts with gradients enabled.
void run_in_parallel(int count, const std::function<void(int)>& work);

// Tunes glibc's allocator so freed tensor memory is reused instead of unmapped
// (process-wide, once; a no-op elsewhere).
void keep_freed_memory();

}  // namespace metarl::meta
