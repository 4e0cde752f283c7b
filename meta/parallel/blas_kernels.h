#pragma once
// Which BLAS kernels this process runs (issue N). OpenBLAS picks its kernels (its
// "core") once, when it loads, from the CPU model it recognises; on a model it does not
// know it falls back to generic ones: Debian's OpenBLAS 0.3.21 runs its "Prescott"
// kernels (SSE3) on a recent AVX-512 Xeon, where a float32 GEMM ran at a third of the
// rate of the SkylakeX kernels the CPU supports (docs/benchmarks.md). OPENBLAS_CORETYPE,
// read at that load, names other kernels. This header only says what runs; `metarl
// bench` reports it, and a run says so when the kernels are a fallback.

#include <string>

namespace metarl::meta {

// The instruction sets that OpenBLAS's x86-64 kernels need, as a CPU has them.
struct CpuVectorFeatures {
  bool avx = false;
  bool avx2 = false;
  bool fma = false;
  bool avx512 = false;       // avx512f, avx512bw, avx512dq, avx512vl, avx512cd (SkylakeX's kernels)
  bool avx512_bf16 = false;  // Cooperlake's
};

// This CPU's (cpuid, with the OS's support for the wider registers); all false off x86-64.
CpuVectorFeatures cpu_vector_features();

// The fastest OpenBLAS x86-64 kernels that `features` allow, by OpenBLAS's name:
// Cooperlake, SkylakeX, Haswell, Sandybridge or Prescott.
std::string fastest_supported_core(const CpuVectorFeatures& features);

// Whether kernels `core` (an OpenBLAS core name, any case) are of an older instruction
// set than `supported`: false when either name is one this table does not rank.
bool is_fallback_core(const std::string& core, const std::string& supported);

struct BlasKernels {
  std::string library;    // openblas_get_config(), e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH …"; "" when not OpenBLAS
  std::string core;       // openblas_get_corename(), e.g. "Prescott"; "" when not OpenBLAS
  std::string supported;  // fastest_supported_core() of this CPU; "" off x86-64
  std::string coretype;   // OPENBLAS_CORETYPE as this process was started with; "" when unset
  // The kernels run below what the CPU supports, and no OPENBLAS_CORETYPE chose them.
  bool fallback() const { return coretype.empty() && is_fallback_core(core, supported); }
  // One line: "OpenBLAS (…): Prescott kernels; this CPU supports SkylakeX's —
  // OpenBLAS did not recognise it (OPENBLAS_CORETYPE=SkylakeX selects them)".
  std::string describe() const;
};

// The BLAS this process loaded (found by its exported openblas_* functions).
BlasKernels blas_kernels();

}  // namespace metarl::meta
