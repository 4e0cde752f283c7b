#!/usr/bin/env bash
# The README's first command: install, build, meta-train Meta-SGD on point-nav
# briefly (paper sizes: 20 tasks x 20 rollouts x 100 steps, 2x100 ReLU), then
# evaluate on held-out goals the training never saw: the return after 0, 1, 2, 3
# adaptation steps, mean ± 95% confidence interval over 40 tasks.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
run_dir=${RUN_DIR:-runs/quickstart}   # RUN_DIR: the docs test runs it elsewhere
./build/apps/metarl train --config configs/point-nav-meta-sgd.yaml --iterations "${ITERATIONS:-60}" \
  --out "$run_dir" --force
./build/apps/metarl eval --checkpoint "$run_dir" --split heldout --tasks 40 --rollouts 40 --steps 3
