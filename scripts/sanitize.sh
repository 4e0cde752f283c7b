#!/usr/bin/env bash
# Builds metarl with AddressSanitizer + UndefinedBehaviorSanitizer into build-asan/
# and runs the default test suite under them. Any report fails the run: UBSan is
# built without recovery, and ASan aborts on its first error.
set -euo pipefail
cd "$(dirname "$0")/.."
generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
if [ ! -f build-asan/CMakeCache.txt ]; then
  cmake -S . -B build-asan "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMETARL_SANITIZE=ON
fi
cmake --build build-asan --parallel "$(nproc)"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
ctest --test-dir build-asan --output-on-failure --parallel "$(nproc)" --label-exclude slow
