#!/usr/bin/env bash
# The one prepared GPU run (issue F): on a CUDA machine with PyTorch 2.x and the
# .gpu-debs folder carried over, builds with scripts/gpu-build.sh (which runs the test
# suite, CUDA tests included, and `metarl bench --device cuda`), then measures the
# configurations docs/benchmarks.md reports, each with and without the device twins.
# Logs go to $OUT (the device tool's folder) or ./gpu-results. Each step has its own
# time limit so that one slow step cannot eat the session.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-results}
mkdir -p "$out"
nvidia-smi > "$out/nvidia-smi.txt" 2>&1
python3 -c 'import torch; print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name(0))' \
  > "$out/torch.txt" 2>&1
start=$(date +%s)
timeout 400 bash scripts/gpu-build.sh -G Ninja > "$out/build-test-bench.log" 2>&1
echo "gpu-build.sh: exit $? after $(( $(date +%s) - start )) s" | tee "$out/summary.txt"
metarl=build-cuda/apps/metarl
# The unpacked Debian libraries (and their own dependencies, such as fmt) for the
# runs below, as gpu-build.sh sets them for its own.
prefix=${METARL_DEPS_PREFIX:-/tmp/metarl-deps}
export LD_LIBRARY_PATH="$prefix/usr/lib/x86_64-linux-gnu:$(python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
bench() {  # name, then bench arguments
  local name=$1
  shift
  local t0=$(date +%s)
  timeout 120 "$metarl" bench --device cuda --skip-envs --json "$@" > "$out/bench-$name.json" 2> "$out/bench-$name.err"
  echo "bench $name: exit $? after $(( $(date +%s) - t0 )) s" | tee -a "$out/summary.txt"
}
if [ -x "$metarl" ]; then
  bench nav-20 --repetitions 10
  bench nav-20-twin --repetitions 10 --env-on-device
  bench protocol-1000 --config configs/maml-protocol/point-nav-meta-sgd.yaml --meta-batch 1000 --warmup 1 --repetitions 3
  bench protocol-1000-twin --config configs/maml-protocol/point-nav-meta-sgd.yaml --meta-batch 1000 --warmup 1 \
    --repetitions 3 --env-on-device
fi
exit 0
