#include "meta/runtime.h"

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
  return chosen;
}

}  // namespace metarl::meta
