#!/usr/bin/env bash
# GEMM figures for docs/benchmarks.md: `cadenza-bench gemm` under the three OpenBLAS setups,
# back to back, each with numpy's matmul measured in the same invocation.
#   1. as the machine is configured (Debian's libopenblas0, OPENBLAS_CORETYPE as set);
#   2. Debian's OpenBLAS choosing its own kernels (OPENBLAS_CORETYPE/L2_SIZE unset);
#   3. the OpenBLAS numpy itself runs (PyPI scipy-openblas32, same version), env unset like numpy.
# Usage: Benchmarks/gemm.sh [RUNS]   (from the package root; sets up /work/venv-gemm if missing)
set -euo pipefail
runs="${1:-5}"
venv="${CADENZA_BENCH_VENV:-/work/venv-gemm}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q numpy threadpoolctl scipy-openblas32
fi
swift build -c release --product cadenza-bench
bin=.build/release/cadenza-bench
py="$venv/bin/python"
echo "== 1. machine defaults: OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}"
"$bin" gemm --runs "$runs" --python "$py"
echo "== 2. Debian OpenBLAS, own kernel choice"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$bin" gemm --runs "$runs" --python "$py"
lib="$("$py" -c 'import scipy_openblas32, os; print(os.path.join(scipy_openblas32.get_lib_dir(), "libscipy_openblas.so"))')"
echo "== 3. numpy's OpenBLAS build ($lib)"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE CADENZA_OPENBLAS="$lib" "$bin" gemm --runs "$runs" --python "$py"
