#pragma once
// Where and how torch computes: device selection and intra-op threads.

#include <torch/torch.h>

#include <string>

namespace metarl::meta {

// "cpu", "cuda" or "cuda:N". Throws UsageError when CUDA is asked for and this
// LibTorch build or machine has none, naming the value.
torch::Device resolve_device(const std::string& name);

// Sets torch's intra-op threads: `threads`, or one per core when 0. Debian's
// LibTorch starts with 1 (see docs/benchmarks.md), so this is always explicit.
// Also calls keep_freed_memory(). Returns the number set.
int configure_threads(int threads);

// Tunes glibc's allocator so freed tensor memory is reused instead of unmapped
// (process-wide, once; a no-op elsewhere).
void keep_freed_memory();

}  // namespace metarl::meta
