#!/usr/bin/env bash
# metarl against pytorch-maml-rl on pytorch-maml-rl's 2D-navigation MAML-TRPO config,
# side by side on one machine: PAIRS alternating pairs, the same OpenBLAS kernels for both.
#
#   bench/peer/side_by_side.sh PEER_DIR METARL [PAIRS] [CORETYPE]
#
# PEER_DIR: pytorch-maml-rl at 21d4ba1 (unmodified; bench/peer/README.md says how to get it
# and why it runs with bench/peer/shim). METARL: the metarl executable. CORETYPE: the
# OpenBLAS kernels both run on (default Cooperlake; any value of OPENBLAS_CORETYPE that
# the CPU supports). Each pair prints the peer's median seconds per meta-iteration
# (iterations 3-10 of 10: the first two include the sampler processes' start), metarl's
# (`metarl bench --bench-config maml-rl-nav`, one warm-up, 5 timed) and their ratio.
set -euo pipefail
peer=$(cd "$1" && pwd)
metarl=$(realpath "$2")
pairs=${3:-3}
coretype=${4:-Cooperlake}
python=${PYTHON:-python3}  # a Python with torch and numpy
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed 's/^num-batches: .*/num-batches: 10/' "$peer/configs/maml/2d-navigation.yaml" > "$work/2d-navigation.yaml"
median() { sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
echo "pair  pytorch-maml-rl s/iter  metarl s/iter  ratio   (OPENBLAS_CORETYPE=$coretype)"
for pair in $(seq 1 "$pairs"); do
  (cd "$peer" && OPENBLAS_CORETYPE=$coretype PYTHONPATH="$here/shim:$peer" \
     "$python" "$here/run_peer.py" train.py --config "$work/2d-navigation.yaml" --seed "$pair" --num-workers 2) \
     > "$work/peer.log" 2>&1 || { cat "$work/peer.log" >&2; exit 1; }
  peer_s=$(grep '^iteration' "$work/peer.log" | awk 'NR > 2 {print $3}' | median)
  OPENBLAS_CORETYPE=$coretype "$metarl" bench --skip-envs --bench-config maml-rl-nav --warmup 1 --repetitions 5 \
     --json > "$work/metarl.json"
  metarl_s=$("$python" -c "import json,sys; print(json.load(open(sys.argv[1]))['maml-rl-nav']['median_s'])" "$work/metarl.json")
  printf '%4d  %22.3f  %13.3f  %5.2fx\n' "$pair" "$peer_s" "$metarl_s" "$(echo "$peer_s / $metarl_s" | bc -l)"
done
