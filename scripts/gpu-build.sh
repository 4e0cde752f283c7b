#!/usr/bin/env bash
# On the GPU machine (CUDA, CMake and PyTorch 2.x installed, no internet): unpacks the
# .deb files of scripts/gpu-fetch-debs.sh into a prefix (never into /), then builds
# metarl against PyTorch's CUDA LibTorch into ./build-cuda and runs the test suite
# and `metarl bench --device cuda`. Usage: scripts/gpu-build.sh [extra CMake args]
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${METARL_DEPS_PREFIX:-/tmp/metarl-deps}
if ! ls .gpu-debs/*.deb >/dev/null 2>&1; then
  echo "scripts/gpu-build.sh: no .deb files in .gpu-debs; run scripts/gpu-fetch-debs.sh where apt works and carry the folder" >&2
  exit 2
fi
mkdir -p "$prefix"
for deb in .gpu-debs/*.deb; do dpkg -x "$deb" "$prefix"; done
torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
cxx11_abi=$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
if [ "$cxx11_abi" != 1 ]; then
  # yaml-cpp, spdlog and fmt from Debian use the C++11 std::string ABI; a LibTorch
  # built with the old one cannot be linked with them.
  echo "scripts/gpu-build.sh: this PyTorch's LibTorch uses the pre-C++11 string ABI; use one built with _GLIBCXX_USE_CXX11_ABI=1" >&2
  exit 1
fi
export LD_LIBRARY_PATH="$prefix/usr/lib/x86_64-linux-gnu:$(python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cmake -S . -B build-cuda -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$prefix/usr" "$@"
cmake --build build-cuda --parallel "$(nproc)"
ctest --test-dir build-cuda -LE slow --output-on-failure -j "$(nproc)"
build-cuda/apps/metarl bench --device cuda --skip-envs --json
