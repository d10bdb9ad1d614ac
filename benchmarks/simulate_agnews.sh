#!/usr/bin/env bash
# Active-learning + auto-accept benchmark protocols (see docs/simulate.md).
# Usage: benchmarks/simulate_agnews.sh [DATA_DIR]   (default ../shared/data)
# Each seed runs in its own process (2-core machines: the runs are CPU-bound), then merged.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data}
OUT=.bench-cache
PY=${PYTHON:-.venv/bin/python}

# AG News: budget 500, batch 10, 3 seeds, margin and hybrid against random (learning curves +
# auto-accept after the budget), then the end-to-end phase for margin.
for s in 0 1 2; do
  $PY benchmarks/simulate.py agnews --data "$DATA" --strategies margin,hybrid,random --seeds 1 \
    --first-seed $s --budget 500 --batch-size 10 --no-end-to-end --out $OUT/sim-agnews-s$s &
done
wait
$PY benchmarks/simulate.py merge $OUT/sim-agnews-s0 $OUT/sim-agnews-s1 $OUT/sim-agnews-s2 \
  --out $OUT/sim-agnews
for s in 0 1 2; do
  $PY benchmarks/simulate.py agnews --data "$DATA" --strategies margin --seeds 1 --first-seed $s \
    --budget 500 --review-batch 250 --out $OUT/sim-agnews-e2e-s$s &
done
wait
$PY benchmarks/simulate.py merge $OUT/sim-agnews-e2e-s0 $OUT/sim-agnews-e2e-s1 \
  $OUT/sim-agnews-e2e-s2 --out $OUT/sim-agnews-e2e

# banking77: budget 1000 (batch 50: 20 rounds), margin and random on seed 0, end to end for
# margin (review batches of 500).
$PY benchmarks/simulate.py banking77 --data "$DATA" --strategies margin,random \
  --end-to-end-strategies margin --seeds 1 --first-seed 0 --budget 1000 --batch-size 50 \
  --review-batch 500 --out $OUT/sim-banking77
for s in 1 2; do
  $PY benchmarks/simulate.py banking77 --data "$DATA" --strategies margin,random --seeds 1 \
    --first-seed $s --budget 1000 --batch-size 50 --no-end-to-end --out $OUT/sim-banking77-s$s &
done
wait
