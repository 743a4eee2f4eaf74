// The int8 decoding kernels alone, one thread: a context of n token vectors against a matrix of
// N rows of K weights, by `cadenza_int8_rows_many` (with VNNI: inputs split into bytes, 16 rows
// at a time in a panel that serves every vector) and by `cadenza_int8_rows` once per vector, in G
// multiply-adds per second. The matrix is small enough to stay in L2, so this measures the
// arithmetic, not the weights' stream (`cadenza-bench decoder` measures a whole step's products).
//
//   clang -O3 -march=native -Xclang -target-feature -Xclang +fast-dpwssd \
//     -ISources/TensorKernels/include Benchmarks/int8-kernels.c Sources/TensorKernels/TensorKernels.c Sources/TensorKernels/DecoderAVX2.c \
//     -o /tmp/int8-kernels && /tmp/int8-kernels 256 768 128 && /tmp/int8-kernels 1024 256 128
//
// Without the `-Xclang` flags the build is what clang would do unasked (docs/tensor-kernels.md).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "TensorKernels.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s K N n (K a multiple of 32)\n", argv[0]);
        return 1;
    }
    long K = atol(argv[1]), N = atol(argv[2]), n = atol(argv[3]);
    int16_t *x = malloc(n * K * sizeof *x);
    int8_t *w = malloc(N * K);
    float *scales = malloc(N * sizeof *scales), *input_scales = malloc(n * sizeof *input_scales);
    float *y = malloc(n * N * sizeof *y);
    srand(1);
    for (long i = 0; i < n * K; i++) x[i] = (int16_t)(rand() % 65535 - 32767);
    for (long i = 0; i < N * K; i++) w[i] = (int8_t)(rand() % 255 - 127);
    for (long i = 0; i < N; i++) scales[i] = 1e-3f;
    for (long i = 0; i < n; i++) input_scales[i] = 1e-5f;
    const int repeats = 20;
    for (int round = 0; round < 5; round++) {
        double start = now();
        for (int r = 0; r < repeats; r++)
            cadenza_int8_rows_many(x, K, input_scales, n, w, K, 0, N, scales, NULL, 0, y, N);
        double many = (now() - start) / repeats;
        start = now();
        for (int r = 0; r < repeats; r++)
            for (long i = 0; i < n; i++)
                cadenza_int8_rows(x + i * K, w, K, 0, N, scales, input_scales[i], NULL, 0, y + i * N);
        double one = (now() - start) / repeats;
        double work = (double)n * N * K;
        printf("K=%ld N=%ld n=%ld: many vectors %.1f G/s, one at a time %.1f G/s\n", K, N, n, work / many / 1e9,
               work / one / 1e9);
    }
    return 0;
}
