#include "meta/parallel/runtime.h"

#include <dlfcn.h>
#include <malloc.h>

#include <algorithm>
#include <thread>

#include "envs/errors.h"
#include "envs/row_workers.h"

namespace metarl::meta {

torch::Device resolve_device(const std::string& name) {
  torch::Device device(torch::kCPU);
  try {
    device = torch::Device(name);
  } catch (const c10::Error&) {
    throw UsageError("device '" + name + "' is not one of: cpu, cuda, cuda:N");
  }
  if (device.is_cpu()) return device;
  if (!device.is_cuda()) throw UsageError("device '" + name + "' is not one of: cpu, cuda, cuda:N");
  if (!torch::cuda::is_available()) {
    throw UsageError("device '" + name +
                     "': CUDA is not available (this LibTorch has no CUDA support, or no GPU is visible); use --device cpu");
  }
  const auto count = static_cast<int64_t>(torch::cuda::device_count());
  if (device.has_index() && device.index() >= count) {
    throw UsageError("device '" + name + "': only " + std::to_string(count) + " CUDA device(s) are visible");
  }
  return device;
}

int threads_or_cores(int requested) {
  return requested > 0 ? requested : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

int configure_threads(int threads) {
  const int chosen = threads_or_cores(threads);
  torch::set_num_threads(chosen);
  // Looked up at run time: LibTorch may be linked to another BLAS, or OpenBLAS
  // may not be the one the libblas alternative points to.
  using SetThreads = void (*)(int);
  if (auto* set_blas_threads = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    set_blas_threads(chosen);
  }
  keep_freed_memory();
  return chosen;
}

int task_groups(int workers, int64_t tasks, const torch::Device& device) {
  if (!device.is_cpu()) return 1;
  return static_cast<int>(std::min<int64_t>(threads_or_cores(workers), std::max<int64_t>(tasks, 1)));
}

void run_in_parallel(int count, const std::function<void(int)>& work) {
  // Threads for this call only: a curvature product takes tenths of a second, so
  // starting them is noise, and no pool outlives the products.
  envs::RowWorkers(std::max(count, 1)).run(work);
}

void keep_freed_memory() {
#if defined(__GLIBC__)
  // A meta-iteration allocates and frees the same multi-megabyte activations and
  // gradients over and over. glibc serves blocks above a dynamic threshold with mmap
  // and returns them at free, so each iteration paid for fresh zeroed pages: 15% of
  // its time in page faults at the paper's sizes. Serving them from the heap (up to
  // glibc's 32 MiB mmap limit) and not trimming the heap's top makes them reused.
  static const bool configured = [] {
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
    mallopt(M_TOP_PAD, 64 * 1024 * 1024);
    return true;
  }();
  (void)configured;
#endif
}

}  // namespace metarl::meta
