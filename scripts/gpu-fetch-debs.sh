#!/usr/bin/env bash
# On a machine with Debian's apt and the internet: downloads the .deb files that a
# GPU machine without internet needs besides its own CUDA LibTorch (Box2D, CLI11,
# GTest, yaml-cpp, spdlog, fmt, and MuJoCo with its libraries), into ./.gpu-debs (ignored by git).
# Carry that folder to the GPU machine and run scripts/gpu-build.sh there.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(libbox2d-dev libbox2d2 libcli11-dev libgtest-dev googletest
          libyaml-cpp-dev libyaml-cpp0.7 libspdlog-dev libspdlog1.10 libfmt-dev libfmt9
          libmujoco-dev libmujoco2.2.2 libccd2 liblodepng0 libqhull-r8.0 libtinyxml2-9)
mkdir -p .gpu-debs
(cd .gpu-debs && apt-get download "${packages[@]}")
ls -1 .gpu-debs
