#!/usr/bin/env bash
# Installs the dependencies, builds, and runs the default test suite (everything
# not labelled `slow`; run those with: ctest --test-dir build -L slow).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
ctest --test-dir build --output-on-failure --parallel "$(nproc)" --label-exclude slow
