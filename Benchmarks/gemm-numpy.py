#!/usr/bin/env python3
"""numpy's matmul (OpenBLAS) on the shapes `cadenza-bench gemm` measures: the baseline.

Usage: gemm-numpy.py [--runs N] [--min-seconds S] SHAPE...
SHAPE is m,n,k,ta,tb (ta/tb 0 or 1: op(A) = A.T when 1, as in cblas row-major).
Prints one JSON object: {"shapes": [{"shape": SHAPE, "gflops": [per-run figures]}], "blas": ...}.
Spawned by `cadenza-bench gemm` with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (they pin
numpy's OpenBLAS to slower kernels); run it by hand as
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 Benchmarks/gemm-numpy.py 1024,1024,1024,0,0
"""
import json
import sys
import time

import numpy as np


def blas_info():
    try:
        import threadpoolctl
        return [{k: v for k, v in pool.items() if k in
                 ("internal_api", "version", "num_threads", "architecture", "threading_layer")}
                for pool in threadpoolctl.threadpool_info()]
    except ImportError:
        return "threadpoolctl not installed"


def measure(m, n, k, ta, tb, min_seconds):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
    opa = a.T if ta else a
    opb = b.T if tb else b
    c = np.empty((m, n), dtype=np.float32)
    np.matmul(opa, opb, out=c)  # warm-up
    iterations, start = 0, time.perf_counter()
    while True:
        np.matmul(opa, opb, out=c)
        iterations += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return 2.0 * m * n * k * iterations / elapsed / 1e9


def main(argv):
    runs, min_seconds, shapes = 1, 0.1, []
    i = 0
    while i < len(argv):
        if argv[i] == "--runs":
            runs = int(argv[i + 1]); i += 2
        elif argv[i] == "--min-seconds":
            min_seconds = float(argv[i + 1]); i += 2
        else:
            shapes.append(argv[i]); i += 1
    results = []
    for text in shapes:
        m, n, k, ta, tb = (int(x) for x in text.split(","))
        figures = [measure(m, n, k, ta, tb, min_seconds) for _ in range(runs)]
        results.append({"shape": text, "gflops": figures})
    print(json.dumps({"numpy": np.__version__, "blas": blas_info(), "shapes": results}))


if __name__ == "__main__":
    main(sys.argv[1:])
