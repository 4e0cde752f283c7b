#include "meta/parallel/blas_kernels.h"

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <vector>

#include "envs/errors.h"

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

bool same_core(const std::string& a, const std::string& b) { return lower(a) == lower(b); }

bool is_fallback_core(const std::string& core, const std::string& supported) {
  const int running = core_rank(core);
  const int possible = core_rank(supported);
  return running > 0 && possible > 0 && running < possible;
}

std::string BlasKernels::describe() const {
  if (core.empty()) return "not OpenBLAS (its kernels are not reported here)";
  std::string out = (library.empty() ? std::string("OpenBLAS") : library) + ": " + core + " kernels";
  if (!coretype.empty()) {
    return out + " (OPENBLAS_CORETYPE=" + coretype + (coretype_set_by_metarl ? ", set by metarl's blas_kernels" : "") +
           ")";
  }
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
  const char* set_by_metarl = std::getenv(kBlasKernelsSetBy);
  kernels.coretype_set_by_metarl = set_by_metarl && !kernels.coretype.empty() && kernels.coretype == set_by_metarl;
  return kernels;
}

namespace {

// The cores the key names, by OpenBLAS's spelling (OPENBLAS_CORETYPE's values).
const std::vector<std::string>& named_cores() {
  static const std::vector<std::string> cores = {"Prescott", "Sandybridge", "Haswell", "SkylakeX", "Cooperlake"};
  return cores;
}

std::string expected_choices() {
  std::string out;
  for (const auto& choice : blas_kernels_choices()) out += (out.empty() ? "" : ", ") + choice;
  return out;
}

std::string key_value(const std::string& choice) {
  return "config key 'blas_kernels': value '" + choice + "'";
}

}  // namespace

const std::vector<std::string>& blas_kernels_choices() {
  static const std::vector<std::string> choices = [] {
    std::vector<std::string> out = {"auto", "openblas"};
    for (const auto& core : named_cores()) out.push_back(lower(core));
    return out;
  }();
  return choices;
}

std::string blas_coretype_to_start_with(const std::string& choice, const BlasKernels& running) {
  if (choice == "openblas") return "";
  if (choice == "auto") {
    // Kept: a value the user, the machine or metarl already set.
    if (!running.coretype.empty()) return "";
    return running.fallback() ? running.supported : "";
  }
  const auto named = std::find_if(named_cores().begin(), named_cores().end(),
                                  [&](const std::string& core) { return same_core(core, choice); });
  if (named == named_cores().end()) {
    throw UsageError(key_value(choice) + " is invalid; expected one of " + expected_choices());
  }
  if (running.core.empty()) {
    throw UsageError(key_value(choice) + " needs OpenBLAS, and this process's BLAS is not OpenBLAS (" +
                     (running.library.empty() ? std::string("unknown") : running.library) +
                     "); expected auto or openblas");
  }
  if (!running.supported.empty() && core_rank(*named) > core_rank(running.supported)) {
    throw UsageError(key_value(choice) + " asks for kernels this CPU cannot run; expected auto, openblas or a core up "
                     "to " + lower(running.supported) + " (its fastest)");
  }
  if (!running.coretype.empty() && !running.coretype_set_by_metarl && !same_core(running.coretype, choice)) {
    throw UsageError(key_value(choice) + " conflicts with OPENBLAS_CORETYPE=" + running.coretype +
                     " in the environment, which metarl does not override; unset it, or expected blas_kernels auto "
                     "(or " + lower(running.coretype) + ")");
  }
  return same_core(running.core, choice) ? "" : *named;
}

void check_blas_kernels(const std::string& choice, const BlasKernels& running) {
  const std::string coretype = blas_coretype_to_start_with(choice, running);
  if (coretype.empty() || choice == "auto") return;  // auto never refuses: it is a speed-up, not a contract
  throw UsageError(key_value(choice) + " asks for " + coretype + "'s kernels, and this process runs " + running.core +
                   "'s; OpenBLAS chooses when it loads: start the process with OPENBLAS_CORETYPE=" + coretype +
                   " (metarl's command line does so by itself)");
}

}  // namespace metarl::meta
