#pragma once
// Which BLAS kernels this process runs (issue N). OpenBLAS picks its kernels (its
// "core") once, when it loads, from the CPU model it recognises; on a model it does not
// know it falls back to generic ones: Debian's OpenBLAS 0.3.21 runs its "Prescott"
// kernels (SSE3) on a recent AVX-512 Xeon, where a float32 GEMM ran at a third of the
// rate of the SkylakeX kernels the CPU supports (docs/benchmarks.md). OPENBLAS_CORETYPE,
// read at that load, names other kernels. This header says what runs and what the
// `blas_kernels` key asks for; the command line starts itself again with
// OPENBLAS_CORETYPE set when they differ (apps/blas_restart.h), and the library refuses
// to run on kernels other than a core the key names (a Python process cannot restart).

#include <string>
#include <vector>

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
  // metarl set `coretype` (kBlasKernelsSetBy names the value it set), not the user or
  // the machine.
  bool coretype_set_by_metarl = false;
  // The kernels run below what the CPU supports, and no OPENBLAS_CORETYPE chose them.
  bool fallback() const { return coretype.empty() && is_fallback_core(core, supported); }
  // One line: "OpenBLAS (…): Prescott kernels; this CPU supports SkylakeX's —
  // OpenBLAS did not recognise it (OPENBLAS_CORETYPE=SkylakeX selects them)".
  std::string describe() const;
};

// Whether two OpenBLAS core names (or a `blas_kernels` value) name the same kernels:
// OpenBLAS writes "Haswell", the key "haswell".
bool same_core(const std::string& a, const std::string& b);

// The BLAS this process loaded (found by its exported openblas_* functions).
BlasKernels blas_kernels();

// The environment variable in which metarl keeps the OPENBLAS_CORETYPE value it set
// itself, so that a process started with it (after the restart, or a seed group's or
// --nproc's child) knows the value is metarl's choice and not the user's.
inline constexpr const char* kBlasKernelsSetBy = "METARL_OPENBLAS_CORETYPE";

// The `blas_kernels` key's values (RuntimeOptions::blas_kernels):
//   auto      the fastest kernels this CPU supports when OpenBLAS fell back to generic
//             ones (it did not recognise the CPU); otherwise OpenBLAS's own choice. An
//             OPENBLAS_CORETYPE the user or the machine set is kept: some machines set
//             it on purpose.
//   openblas  whatever OpenBLAS picks by itself (or OPENBLAS_CORETYPE says).
//   prescott, sandybridge, haswell, skylakex, cooperlake
//             those kernels. The same kernels compute a product the same way on
//             every CPU that runs them: haswell reproduced README's quick-start table,
//             made on an AVX2 AMD machine, bit for bit on an AVX-512 Intel VM.
const std::vector<std::string>& blas_kernels_choices();

// What `choice` asks of a process running `running`: the OPENBLAS_CORETYPE value to
// start it again with, or "" when it runs the right kernels already. UsageError naming
// the key, the value and what was expected when the choice cannot be had: a core this
// CPU does not support, a core while OPENBLAS_CORETYPE (set by the user) names another,
// a core with a BLAS that is not OpenBLAS.
std::string blas_coretype_to_start_with(const std::string& choice, const BlasKernels& running);

// For a process that cannot start itself again (the library: Python, a test): UsageError
// when `choice` names a core and `running` runs other kernels, saying how to start it.
void check_blas_kernels(const std::string& choice, const BlasKernels& running);

}  // namespace metarl::meta
