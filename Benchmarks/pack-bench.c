// How long the 16-bit products' packing takes per element, and what share of a product it is, on
// one core: the float16 packing of `Sources/TensorKernels` (`cadenza_f16_pack_a`,
// `cadenza_f16_pack_b`) for each way an operand of a training product is stored, and whole
// single-thread float16 products of the training shapes split into packing and tiles. Built
// against the product's C files (not through Swift), so that two versions of them can be
// compared side by side:
//
//   clang -O3 -march=native -ISources/TensorKernels/include Benchmarks/pack-bench.c \
//     Sources/TensorKernels/BFloat16GEMM.c Sources/TensorKernels/Float16GEMM.c -lm -o /tmp/pack-bench
//   /tmp/pack-bench
//
// (for another version, point the two .c files at a copy, e.g. from `git show REV:path`).
#include "TensorKernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static float *random_floats(long count) {
    float *x = malloc(sizeof(float) * (size_t)count);
    for (long i = 0; i < count; i++) x[i] = rand() / (float)RAND_MAX - 0.5f;
    return x;
}

// Packing one [2048 x 256] operand each way; the best of 7 rounds of 50 ms.
static void packing(void) {
    long rows = 2048, columns = 256;
    float *x = random_floats(rows * columns);
    uint16_t *out = aligned_alloc(64, sizeof(float) * (size_t)(rows * columns) + 4096);
    float *scales = malloc(sizeof(float) * (size_t)rows), *inverses = malloc(sizeof(float) * (size_t)rows);
    const char *names[] = {
        "A, lanes stored whole (X as A: m=2048, k=256)", "A, stored by depth (X^T as A: m=256, k=2048)",
        "B, lanes stored whole (W^T as B: n=2048, k=256)", "B, stored by depth (X as B: k=2048, n=256)"};
    for (int way = 0; way < 4; way++) {
        double best = 1e9;
        for (int round = 0; round < 7; round++) {
            int repeats = 0;
            double start = now();
            while (now() - start < 0.05) {
                if (way == 0) cadenza_f16_pack_a(rows, columns, x, columns, 0, scales, inverses, 0, out, 0, (rows + 11) / 12);
                if (way == 1) cadenza_f16_pack_a(columns, rows, x, columns, 1, scales, inverses, 0, out, 0, (columns + 11) / 12);
                if (way == 2) cadenza_f16_pack_b(columns, rows, x, columns, 1, scales, inverses, 0, out, 0, (rows + 31) / 32);
                if (way == 3) cadenza_f16_pack_b(rows, columns, x, columns, 0, scales, inverses, 0, out, 0, (columns + 31) / 32);
                repeats++;
            }
            double seconds = (now() - start) / repeats;
            if (seconds < best) best = seconds;
        }
        printf("pack %-50s %.3f ms  %.2f ns per element\n", names[way], best * 1e3, best * 1e9 / (double)(rows * columns));
    }
    free(x);
    free(out);
    free(scales);
    free(inverses);
}

// Whole products, one thread: GFLOP/s overall and of the tiles alone, and packing's share.
static void products(void) {
    long shapes[][6] = {
        // m, n, k, A transposed, B transposed, beta
        {2048, 768, 256, 0, 1, 0}, {768, 256, 2048, 1, 0, 1}, {2048, 256, 1024, 0, 1, 0},
        {1024, 256, 2048, 1, 0, 1}, {2048, 256, 768, 0, 0, 0}};
    for (int s = 0; s < 5; s++) {
        long m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        int transpose_a = (int)shapes[s][3], transpose_b = (int)shapes[s][4];
        float beta = (float)shapes[s][5];
        float *a = random_floats(m * k), *b = random_floats(k * n), *c = calloc((size_t)(m * n), sizeof(float));
        long k2 = (k + 1) / 2, row_panels = (m + 11) / 12, column_panels = (n + 31) / 32;
        uint16_t *packed_a = aligned_alloc(64, (size_t)((row_panels * k2 * 48 + 63) / 64 * 64));
        uint16_t *packed_b = aligned_alloc(64, (size_t)(column_panels * k2 * 128));
        float *row_scales = malloc(sizeof(float) * (size_t)m), *row_inverses = malloc(sizeof(float) * (size_t)m);
        float *column_scales = malloc(sizeof(float) * (size_t)n), *column_inverses = malloc(sizeof(float) * (size_t)n);
        double packing_time = 0, tile_time = 0;
        int repeats = 0;
        double start = now();
        while (now() - start < 0.6) {
            double t0 = now();
            cadenza_f16_pack_b(k, n, b, transpose_b ? k : n, transpose_b, column_scales, column_inverses, 0, packed_b, 0,
                               column_panels);
            cadenza_f16_pack_a(m, k, a, transpose_a ? m : k, transpose_a, row_scales, row_inverses, 0, packed_a, 0,
                               row_panels);
            double t1 = now();
            cadenza_f16_gemm_packed(packed_a, packed_b, m, n, k, 0, row_panels, row_inverses, column_inverses, c, n, 1,
                                    beta, 0, 0, cadenza_cpu_has_avx512fp16());
            tile_time += now() - t1;
            packing_time += t1 - t0;
            repeats++;
        }
        double flops = 2.0 * m * n * k * repeats;
        printf("product %ldx%ldx%ld%s%s: %.1f GFLOP/s, tiles alone %.1f, packing %.1f %% of the time\n", m, n, k,
               transpose_a ? " Aᵀ" : "", transpose_b ? " Bᵀ" : "", flops / (packing_time + tile_time) / 1e9,
               flops / tile_time / 1e9, 100 * packing_time / (packing_time + tile_time));
        free(a);
        free(b);
        free(c);
        free(packed_a);
        free(packed_b);
        free(row_scales);
        free(row_inverses);
        free(column_scales);
        free(column_inverses);
    }
}

int main(void) {
    srand(1);
    packing();
    products();
    return 0;
}
