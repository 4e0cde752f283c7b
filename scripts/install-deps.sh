#!/usr/bin/env bash
# Installs every build and test dependency of metarl from Debian packages.
# Safe to run twice: apt-get install is idempotent, and nothing is downloaded
# outside apt. Uses sudo only when not already root.
set -euo pipefail

packages=(
  cmake g++ make ninja-build ccache pkg-config
  libtorch-dev
  # Without OpenBLAS, Debian's LibTorch calls the reference BLAS (~10x slower).
  libopenblas0-pthread
  libbox2d-dev libcli11-dev libgtest-dev
  libyaml-cpp-dev libspdlog-dev
  # MuJoCo 2.2: halfcheetah-vel, halfcheetah-dir, ant-dir.
  libmujoco-dev
  # c10d's Gloo headers: multi-process training (meta/parallel/collectives.h).
  libgloo-dev
  # rsvg-convert: the tests render `metarl plot`'s SVG files to PNG to check them.
  librsvg2-bin
  # The Python module (python/, `import metarl`) and its pytest suite, for Debian's
  # /usr/bin/python3: python3-torch is the same LibTorch as libtorch-dev.
  pybind11-dev python3-dev python3-torch python3-numpy python3-pytest
  # pip install . (setup.py, pyproject.toml) into a venv: Debian's setuptools and wheel,
  # and the venv module with its pip (the CTest test python.pip).
  python3-venv python3-setuptools python3-wheel
)

if [ "$(id -u)" -eq 0 ]; then sudo_cmd=(); else sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
