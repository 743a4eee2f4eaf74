#!/usr/bin/env bash
# Issue 20's measurement: Transformer-XL `small` (batch 16 x 128) on maestro-asap, trained by
# 1 process x 2 threads against 2 processes (mpirun) x 1 thread, in alternating rounds on
# one machine; prints each run's median training tokens/s (updates 6 onward, from
# metrics.jsonl) and the ratio. Then the gradient sum alone against MPI_Allreduce.
# Usage: Benchmarks/mpi-scaling.sh [ROUNDS] [STEPS]   (release builds of cadenza and cadenza-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"; steps="${2:-40}"
bin=.build/release/cadenza
data="${DATA:-../shared/data/maestro-asap/maestro-asap.csv}"
out="$(mktemp -d)"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
common=(train --data "$data" --preset small --steps "$steps" --eval-every 0 --eval-tokens 2048
        --save-every 100000 --cache "${CACHE:-runs/token-cache}" --log-every 1000)
median() {  # tokens/s of updates 6.. of a run
  python3 -c 'import json,sys,statistics
r=[json.loads(l) for l in open(sys.argv[1]) if "\"train\"" in l]
print(round(statistics.median(x["tokens_per_second"] for x in r[5:])))' "$1/metrics.jsonl"
}
grep -m1 "model name" /proc/cpuinfo
for round in $(seq "$rounds"); do
  "$bin" "${common[@]}" --threads 2 --out "$out/one-$round" > /dev/null
  mpirun -np 2 --oversubscribe "$bin" "${common[@]}" --threads 1 --out "$out/two-$round" > /dev/null
  a=$(median "$out/one-$round"); b=$(median "$out/two-$round")
  echo "round $round: 1 process x 2 threads $a tok/s, 2 processes x 1 thread $b tok/s, ratio $(python3 -c "print(f'{$b/$a:.2f}')")"
done
mpirun -np 2 --oversubscribe .build/release/cadenza-bench allreduce
rm -rf "$out"
