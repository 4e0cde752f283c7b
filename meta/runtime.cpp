#include "meta/runtime.h"

#include <malloc.h>

#include <thread>

#include "envs/errors.h"

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

int configure_threads(int threads) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int chosen = threads > 0 ? threads : cores;
  torch::set_num_threads(chosen);
  keep_freed_memory();
  return chosen;
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
