#include "apps/blas_restart.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <vector>

#include "apps/commands.h"
#include "envs/errors.h"
#include "meta/parallel/blas_kernels.h"

namespace metarl::apps {

void restart_with_blas_kernels(const std::string& choice) {
  const meta::BlasKernels running = meta::blas_kernels();
  const std::string coretype = meta::blas_coretype_to_start_with(choice, running);
  if (coretype.empty()) {
    // auto keeps the variable once set, so it would not see that OpenBLAS ignored it.
    if (running.coretype_set_by_metarl && !running.core.empty() && !meta::same_core(running.core, running.coretype)) {
      std::cerr << "metarl: note: OpenBLAS runs " << running.core << "'s kernels with OPENBLAS_CORETYPE="
                << running.coretype << " (built without DYNAMIC_ARCH?); going on with them\n";
    }
    return;
  }
  const char* set_before = std::getenv(meta::kBlasKernelsSetBy);
  std::string failure;
  if (set_before && coretype == set_before) {
    // This process is the restart, and OpenBLAS did not take the variable (a build
    // without DYNAMIC_ARCH): starting again would loop.
    failure = "OpenBLAS runs " + running.core + "'s kernels with OPENBLAS_CORETYPE=" + coretype +
              " (built without DYNAMIC_ARCH?)";
  } else {
    std::vector<std::string> arguments = command_line();
    std::vector<char*> argv;
    for (auto& argument : arguments) argv.push_back(argument.data());
    argv.push_back(nullptr);
    ::setenv("OPENBLAS_CORETYPE", coretype.c_str(), 1);
    ::setenv(meta::kBlasKernelsSetBy, coretype.c_str(), 1);
    std::cout.flush();
    std::cerr.flush();
    ::execv("/proc/self/exe", argv.data());
    failure = "starting metarl again with OPENBLAS_CORETYPE=" + coretype + " failed: " + std::strerror(errno);
    ::unsetenv("OPENBLAS_CORETYPE");
    ::unsetenv(meta::kBlasKernelsSetBy);
  }
  if (choice != "auto") {
    const std::string what = "config key 'blas_kernels': value '" + choice + "': " + failure;
    // This OpenBLAS cannot give those kernels (a usage matter, as a CPU that cannot run
    // them is); a failed exec is a failure of this run.
    if (set_before) throw UsageError(what + "; expected auto or openblas with this OpenBLAS");
    throw std::runtime_error(what);
  }
  std::cerr << "metarl: note: " << failure << "; going on with " << running.core << "'s kernels\n";
}

}  // namespace metarl::apps
