#include "meta/parallel/blas_kernels.h"

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <vector>

namespace metarl::meta {

namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// OpenBLAS's x86-64 cores by the instruction set their kernels use, oldest first; a
// name not listed is not ranked.
int core_rank(const std::string& core) {
  static const std::vector<std::pair<int, std::vector<std::string>>> ranks = {
      {1, {"katmai", "coppermine", "northwood", "prescott", "banias", "core2", "penryn", "dunnington", "nehalem",
           "atom", "athlon", "opteron", "opteron_sse3", "barcelona", "bobcat", "nano"}},
      {2, {"sandybridge", "bulldozer", "piledriver", "steamroller", "excavator"}},
      {3, {"haswell", "zen"}},
      {4, {"skylakex"}},
      {5, {"cooperlake", "sapphirerapids"}},
  };
  const std::string name = lower(core);
  for (const auto& [rank, names] : ranks) {
    if (std::find(names.begin(), names.end(), name) != names.end()) return rank;
  }
  return 0;
}

template <typename Function>
Function openblas_function(const char* name) {
  // The executable's dependencies are in the global scope; a Python extension's may
  // not be, so the library itself is asked too (without loading it).
  if (void* symbol = ::dlsym(RTLD_DEFAULT, name)) return reinterpret_cast<Function>(symbol);
  for (const char* library : {"libopenblas.so.0", "libopenblas.so", "libblas.so.3"}) {
    if (void* handle = ::dlopen(library, RTLD_LAZY | RTLD_NOLOAD)) {
      void* symbol = ::dlsym(handle, name);
      ::dlclose(handle);
      if (symbol) return reinterpret_cast<Function>(symbol);
    }
  }
  return nullptr;
}

std::string trimmed(const char* text) {
  std::string out = text ? text : "";
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
  return out;
}

}  // namespace

CpuVectorFeatures cpu_vector_features() {
  CpuVectorFeatures features;
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  features.avx = __builtin_cpu_supports("avx");
  features.avx2 = __builtin_cpu_supports("avx2");
  features.fma = __builtin_cpu_supports("fma");
  features.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                    __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
                    __builtin_cpu_supports("avx512cd");
  features.avx512_bf16 = features.avx512 && __builtin_cpu_supports("avx512bf16");
#endif
  return features;
}

std::string fastest_supported_core(const CpuVectorFeatures& features) {
  if (features.avx512_bf16) return "Cooperlake";
  if (features.avx512) return "SkylakeX";
  if (features.avx2 && features.fma) return "Haswell";
  if (features.avx) return "Sandybridge";
  return "Prescott";
}

bool is_fallback_core(const std::string& core, const std::string& supported) {
  const int running = core_rank(core);
  const int possible = core_rank(supported);
  return running > 0 && possible > 0 && running < possible;
}

std::string BlasKernels::describe() const {
  if (core.empty()) return "not OpenBLAS (its kernels are not reported here)";
  std::string out = (library.empty() ? std::string("OpenBLAS") : library) + ": " + core + " kernels";
  if (!coretype.empty()) return out + " (OPENBLAS_CORETYPE=" + coretype + ")";
  if (fallback()) {
    out += "; this CPU supports " + supported + "'s, which OpenBLAS did not pick (it did not recognise the CPU): "
           "OPENBLAS_CORETYPE=" + supported + " selects them";
  }
  return out;
}

BlasKernels blas_kernels() {
  BlasKernels kernels;
  using NameFunction = char* (*)();
  if (const auto corename = openblas_function<NameFunction>("openblas_get_corename")) kernels.core = trimmed(corename());
  if (const auto config = openblas_function<NameFunction>("openblas_get_config")) kernels.library = trimmed(config());
#if defined(__x86_64__)
  kernels.supported = fastest_supported_core(cpu_vector_features());
#endif
  if (const char* coretype = std::getenv("OPENBLAS_CORETYPE")) kernels.coretype = coretype;
  return kernels;
}

}  // namespace metarl::meta
