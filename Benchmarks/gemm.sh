#!/usr/bin/env bash
# GEMM figures for docs/benchmarks.md: `cadenza-bench gemm` under the three OpenBLAS setups,
# back to back, each with numpy's matmul measured in the same invocation.
#   1. as the machine is configured (Debian's libopenblas0, OPENBLAS_CORETYPE as set);
#   2. Debian's OpenBLAS choosing its own kernels (OPENBLAS_CORETYPE/L2_SIZE unset);
#   3. the OpenBLAS numpy itself runs (PyPI scipy-openblas32, same version), env unset like numpy.
# Usage: Benchmarks/gemm.sh [RUNS]   (from any folder; works in the repository root)
#   CADENZA_BENCH_VENV  the venv with numpy (default Benchmarks/.venv-gemm, ignored by git;
#                       created with numpy, threadpoolctl and scipy-openblas32 if missing)
# Output goes to stdout; the current figures are kept in Benchmarks/gemm-results.txt
# (`Benchmarks/gemm.sh 5 | tee Benchmarks/gemm-results.txt`; git keeps the earlier ones).
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
venv="${CADENZA_BENCH_VENV:-$PWD/Benchmarks/.venv-gemm}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q numpy threadpoolctl scipy-openblas32
fi
swift build -c release --product cadenza-bench
bin=.build/release/cadenza-bench
py="$venv/bin/python"
echo "# Benchmarks/gemm.sh $runs, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores"
echo "== 1. machine defaults: OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}"
"$bin" gemm --runs "$runs" --python "$py"
echo "== 2. Debian OpenBLAS, own kernel choice"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$bin" gemm --runs "$runs" --python "$py"
lib="$("$py" -c 'import scipy_openblas32, os; print(os.path.join(scipy_openblas32.get_lib_dir(), "libscipy_openblas.so"))')"
echo "== 3. numpy's OpenBLAS build ($lib)"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE CADENZA_OPENBLAS="$lib" "$bin" gemm --runs "$runs" --python "$py"
