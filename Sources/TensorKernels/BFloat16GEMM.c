#include "TensorKernels.h"

#include <stdlib.h>
#include <string.h>

// Mixed-precision products for training (Tensor's `BFloat16GEMM`, issue 19): operands rounded
// to bfloat16, products summed in float32. AVX-512 BF16's `vdpbf16ps` multiplies 16 pairs of
// bfloat16 by 16 other pairs and adds both products into 16 float32 sums: twice the
// multiply-adds per instruction of float32's `vfmadd231ps`. Swift's SIMD types cannot ask for
// it; the function carrying it is compiled for that extension alone and only called when the
// CPU reports it (the caller checks), so one build serves every CPU.

uint16_t cadenza_bf16_round(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);  // NaN stays a quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest, ties to even
    return (uint16_t)(u >> 16);
}

static inline float widen(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

// Rounds `count` floats to bfloat16 pairs: out[p] = (x[2p], x[2p + 1]) as one 32-bit word, low
// half first; an odd count ends with (x[count - 1], 0). A loop the compiler vectorises.
static void round_adjacent(const float *x, long count, uint32_t *out) {
    long pairs = count / 2;
    for (long p = 0; p < pairs; p++) {
        out[p] = (uint32_t)cadenza_bf16_round(x[2 * p]) | ((uint32_t)cadenza_bf16_round(x[2 * p + 1]) << 16);
    }
    if (count & 1) out[pairs] = cadenza_bf16_round(x[count - 1]);
}

// Pairs from two rows: out[j] = (x0[j], x1[j]); x1 may be NULL (zeros).
static void round_interleaved(const float *x0, const float *x1, long count, uint32_t *out) {
    for (long j = 0; j < count; j++) {
        uint32_t high = x1 ? (uint32_t)cadenza_bf16_round(x1[j]) << 16 : 0;
        out[j] = (uint32_t)cadenza_bf16_round(x0[j]) | high;
    }
}

// op(B) [k, n] as panels of 32 columns; in a panel, step kk holds for each column j the pair
// (op(B)[2kk][j], op(B)[2kk+1][j]); zeros beyond k and n. Panels first_panel ..< last_panel.
void cadenza_bf16_pack_b(long k, long n, const float *b, long ldb, int transposed, uint16_t *out,
                         long first_panel, long last_panel) {
    long k2 = (k + 1) / 2;
    uint32_t *words = (uint32_t *)out;
    uint32_t *line = malloc(sizeof(uint32_t) * (size_t)(k2 > 0 ? k2 : 1));
    if (!line) return;
    for (long p = first_panel; p < last_panel; p++) {
        uint32_t *panel = words + p * k2 * 32;
        if (transposed) {
            // Column j of op(B) is row j of B as stored: its pairs are adjacent.
            for (long j = 0; j < 32; j++) {
                long col = p * 32 + j;
                if (col < n) {
                    round_adjacent(b + col * ldb, k, line);
                    for (long kk = 0; kk < k2; kk++) panel[kk * 32 + j] = line[kk];
                } else {
                    for (long kk = 0; kk < k2; kk++) panel[kk * 32 + j] = 0;
                }
            }
        } else {
            long columns = n - p * 32 < 32 ? n - p * 32 : 32;
            for (long kk = 0; kk < k2; kk++) {
                const float *r0 = b + 2 * kk * ldb + p * 32;
                const float *r1 = 2 * kk + 1 < k ? r0 + ldb : 0;
                round_interleaved(r0, r1, columns, panel + kk * 32);
                for (long j = columns; j < 32; j++) panel[kk * 32 + j] = 0;
            }
        }
    }
    free(line);
}

// op(A) [m, k] as panels of 12 rows; in a panel, step kk holds for each row i the pair
// (op(A)[i][2kk], op(A)[i][2kk+1]); zeros beyond m and k. Panels first_panel ..< last_panel.
void cadenza_bf16_pack_a(long m, long k, const float *a, long lda, int transposed, uint16_t *out,
                         long first_panel, long last_panel) {
    long k2 = (k + 1) / 2;
    uint32_t *words = (uint32_t *)out;
    uint32_t *line = malloc(sizeof(uint32_t) * (size_t)(k2 > 0 ? k2 : 1));
    if (!line) return;
    for (long q = first_panel; q < last_panel; q++) {
        uint32_t *panel = words + q * k2 * 12;
        long rows = m - q * 12 < 12 ? m - q * 12 : 12;
        if (!transposed) {
            // Row i of op(A) is row i of A as stored: its pairs are adjacent.
            for (long i = 0; i < 12; i++) {
                if (i < rows) {
                    round_adjacent(a + (q * 12 + i) * lda, k, line);
                    for (long kk = 0; kk < k2; kk++) panel[kk * 12 + i] = line[kk];
                } else {
                    for (long kk = 0; kk < k2; kk++) panel[kk * 12 + i] = 0;
                }
            }
        } else {
            for (long kk = 0; kk < k2; kk++) {
                const float *r0 = a + 2 * kk * lda + q * 12;
                const float *r1 = 2 * kk + 1 < k ? r0 + lda : 0;
                round_interleaved(r0, r1, rows, panel + kk * 12);
                for (long i = rows; i < 12; i++) panel[kk * 12 + i] = 0;
            }
        }
    }
    free(line);
}

// C[i][j] = alpha * tile + beta * C (C not read when beta is 0), for the valid part of a tile.
static void store(const float *tile, long rows, long columns, float *c, long ldc, float alpha, float beta) {
    for (long i = 0; i < rows; i++) {
        for (long j = 0; j < columns; j++) {
            float v = alpha * tile[i * 32 + j];
            c[i * ldc + j] = beta == 0 ? v : v + beta * c[i * ldc + j];
        }
    }
}

// One 12 x 32 tile in plain float32 arithmetic, each sum in the order vdpbf16ps keeps: the odd
// element's product, then the even one's (each product of two bfloat16 is exact in float32).
static void tile_plain(const uint16_t *pa, const uint16_t *pb, long k2, float *tile) {
    for (long i = 0; i < 12; i++) {
        for (long j = 0; j < 32; j++) {
            float acc = 0;
            for (long kk = 0; kk < k2; kk++) {
                acc += widen(pa[kk * 24 + i * 2 + 1]) * widen(pb[kk * 64 + j * 2 + 1]);
                acc += widen(pa[kk * 24 + i * 2]) * widen(pb[kk * 64 + j * 2]);
            }
            tile[i * 32 + j] = acc;
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
static void tile_avx512bf16(const uint16_t *pa, const uint16_t *pb, long k2, float *tile) {
    __m512 acc[12][2];
    for (int i = 0; i < 12; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (long kk = 0; kk < k2; kk++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512((const void *)(pb + kk * 64));
        __m512bh b1 = (__m512bh)_mm512_loadu_si512((const void *)(pb + kk * 64 + 32));
        const uint32_t *pairs = (const uint32_t *)(pa + kk * 24);
        for (int i = 0; i < 12; i++) {
            __m512bh a = (__m512bh)_mm512_set1_epi32((int)pairs[i]);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], a, b0);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], a, b1);
        }
    }
    for (int i = 0; i < 12; i++) {
        _mm512_storeu_ps(tile + i * 32, acc[i][0]);
        _mm512_storeu_ps(tile + i * 32 + 16, acc[i][1]);
    }
}

int cadenza_cpu_has_avx512bf16(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") != 0;
}
#else
static void tile_avx512bf16(const uint16_t *pa, const uint16_t *pb, long k2, float *tile) {
    tile_plain(pa, pb, k2, tile);
}
int cadenza_cpu_has_avx512bf16(void) { return 0; }
#endif

void cadenza_bf16_gemm_packed(const uint16_t *packed_a, const uint16_t *packed_b, long m, long n, long k,
                              long first_row_panel, long last_row_panel, float *c, long ldc, float alpha,
                              float beta, int path) {
    long k2 = (k + 1) / 2, column_panels = (n + 31) / 32;
    float tile[12 * 32];
    for (long p = 0; p < column_panels; p++) {
        const uint16_t *pb = packed_b + p * k2 * 64;
        for (long q = first_row_panel; q < last_row_panel; q++) {
            const uint16_t *pa = packed_a + q * k2 * 24;
            if (path == 1) {
                tile_avx512bf16(pa, pb, k2, tile);
            } else {
                tile_plain(pa, pb, k2, tile);
            }
            long rows = m - q * 12 < 12 ? m - q * 12 : 12, columns = n - p * 32 < 32 ? n - p * 32 : 32;
            store(tile, rows, columns, c + q * 12 * ldc + p * 32, ldc, alpha, beta);
        }
    }
}
