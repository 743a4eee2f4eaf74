// Would float16 arithmetic pay for training on a CPU with AVX-512 FP16 (Intel Sapphire Rapids and
// later)? There `vfmadd231ph` does 32 multiply-adds per instruction, float32's `vfmadd231ps` 16,
// and `vdpbf16ps` (what `BFloat16GEMM` uses) runs at half float32's rate on the Intel host
// measured (docs/benchmarks.md, "Intel Xeon"). This measures, on one core, tile kernels on float16
// operands that sum CHUNK products per lane in float16 and then add the chunk to float32 sums,
// against the same 8 x 32 tile in float32 with `vfmadd231ps`, and the error of each against a
// double-precision product (with bfloat16 operands and float32 sums, as `BFloat16GEMM`, beside).
// The float16 tile works on pairs of depths (the layout `BFloat16GEMM` packs), so that A is
// broadcast as 32-bit words by the load ports. (Broadcasting one float16 per row and depth, in
// 8 x 32 and 8 x 64 tiles, measured slower.)
//
// Float16's range is small (largest 65504), so each operand is first scaled by a power of two
// (exact) that brings its largest magnitude to 2^5: a chunk of 32 products per lane is then at
// most 2^15, and the scale is undone on the float32 sums.
//
//   clang -O2 -march=native Benchmarks/fp16-gemm.c -o /tmp/fp16-gemm -lm && /tmp/fp16-gemm
//   (-DCHUNK=16 for shorter float16 sums)
// The prototype for issue 19, outside Cadenza's build; the product's kernel, with a scale per row
// and column, is Sources/TensorKernels/Float16GEMM.c.
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef CHUNK
#define CHUNK 32
#endif

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

// A seeded normal generator (xorshift64* and Box-Muller), so every run sees the same numbers.
static uint64_t state = 0x9E3779B97F4A7C15ull;
static double uniform(void) {
    state ^= state >> 12, state ^= state << 25, state ^= state >> 27;
    return ((state * 0x2545F4914F6CDD1Dull) >> 11) * (1.0 / 9007199254740992.0);
}
static float normal(void) { return (float)(sqrt(-2 * log(uniform() + 1e-300)) * cos(6.283185307179586 * uniform())); }

// The power of two that brings max |x| to 2^5.
static float scale_for(const float *x, long count) {
    float largest = 0;
    for (long i = 0; i < count; i++) largest = fmaxf(largest, fabsf(x[i]));
    return largest > 0 ? ldexpf(1, 5 - ilogbf(largest) - 1) : 1;
}

// Packing: lanes (rows of A, columns of B) in panels of `width` (8 for A, 32 for B); element
// (lane l, depth d) of the operand is x[l * lane_step + d * depth_step]. Zeros beyond the edges.
//
// float32, for the float32 tile: per depth, the panel's `width` values.
static void pack32(const float *x, long lanes, long depth, long lane_step, long depth_step, long width, float *out) {
    for (long p = 0; p < (lanes + width - 1) / width; p++)
        for (long d = 0; d < depth; d++)
            for (long l = 0; l < width; l++) {
                long lane = p * width + l;
                out[(p * depth + d) * width + l] = lane < lanes ? x[lane * lane_step + d * depth_step] : 0;
            }
}

// float16 times `scale`, as pairs of depths, the layout of `BFloat16GEMM`: step kk holds, per
// lane, the pair (x[2kk], x[2kk + 1]) as one 32-bit word. A row's pair is broadcast with a plain
// load; B's 32 columns fill two registers. Each lane then sums every other depth (the even and
// odd halves are added once, at the end of the tile), so a chunk of CHUNK steps is CHUNK terms
// per lane.
static void pack16p(const float *x, long lanes, long depth, long lane_step, long depth_step, long width, float scale,
                    _Float16 *out) {
    long k2 = (depth + 1) / 2;
    for (long p = 0; p < (lanes + width - 1) / width; p++)
        for (long kk = 0; kk < k2; kk++)
            for (long l = 0; l < width; l++)
                for (int e = 0; e < 2; e++) {
                    long lane = p * width + l, d = 2 * kk + e;
                    float v = lane < lanes && d < depth ? x[lane * lane_step + d * depth_step] * scale : 0;
                    out[((p * k2 + kk) * width + l) * 2 + e] = (_Float16)v;
                }
}

__attribute__((target("avx512f,avx512bw,avx512fp16"))) static void tile16p(const _Float16 *pa, const _Float16 *pb,
                                                                             long k, float unscale, float *c,
                                                                             long ldc) {
    long k2 = (k + 1) / 2;
    float sums[8][64] __attribute__((aligned(64)));
    memset(sums, 0, sizeof(sums));
    for (long d0 = 0; d0 < k2; d0 += CHUNK) {
        __m512h h0[8], h1[8];
        for (int i = 0; i < 8; i++) h0[i] = h1[i] = _mm512_setzero_ph();
        long end = d0 + CHUNK < k2 ? d0 + CHUNK : k2;
        for (long kk = d0; kk < end; kk++) {
            __m512h b0 = _mm512_loadu_ph(pb + kk * 64), b1 = _mm512_loadu_ph(pb + kk * 64 + 32);
            const float *pairs = (const float *)(pa + kk * 16);
            for (int i = 0; i < 8; i++) {
                __m512h a = _mm512_castps_ph(_mm512_set1_ps(pairs[i]));
                h0[i] = _mm512_fmadd_ph(a, b0, h0[i]);
                h1[i] = _mm512_fmadd_ph(a, b1, h1[i]);
            }
        }
        for (int i = 0; i < 8; i++) {
            __m512i x0 = _mm512_castph_si512(h0[i]), x1 = _mm512_castph_si512(h1[i]);
            float *row = sums[i];
            _mm512_store_ps(row, _mm512_add_ps(_mm512_load_ps(row), _mm512_cvtph_ps(_mm512_castsi512_si256(x0))));
            _mm512_store_ps(row + 16,
                            _mm512_add_ps(_mm512_load_ps(row + 16), _mm512_cvtph_ps(_mm512_extracti64x4_epi64(x0, 1))));
            _mm512_store_ps(row + 32, _mm512_add_ps(_mm512_load_ps(row + 32), _mm512_cvtph_ps(_mm512_castsi512_si256(x1))));
            _mm512_store_ps(row + 48,
                            _mm512_add_ps(_mm512_load_ps(row + 48), _mm512_cvtph_ps(_mm512_extracti64x4_epi64(x1, 1))));
        }
    }
    // Even and odd depths' sums of each column added: 32 columns from the 64 interleaved sums.
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    __m512 u = _mm512_set1_ps(unscale);
    for (int i = 0; i < 8; i++)
        for (int half = 0; half < 2; half++) {
            __m512 v0 = _mm512_load_ps(sums[i] + 32 * half), v1 = _mm512_load_ps(sums[i] + 32 * half + 16);
            __m512 sum = _mm512_add_ps(_mm512_permutex2var_ps(v0, even, v1), _mm512_permutex2var_ps(v0, odd, v1));
            _mm512_storeu_ps(c + i * ldc + 16 * half, _mm512_mul_ps(sum, u));
        }
}

// The same tile in float32.
__attribute__((target("avx512f"))) static void tile32(const float *pa, const float *pb, long k, float *c, long ldc) {
    __m512 lo[8], hi[8];
    for (int i = 0; i < 8; i++) lo[i] = hi[i] = _mm512_setzero_ps();
    for (long d = 0; d < k; d++) {
        __m512 b0 = _mm512_loadu_ps(pb + d * 32), b1 = _mm512_loadu_ps(pb + d * 32 + 16);
        for (int i = 0; i < 8; i++) {
            __m512 a = _mm512_set1_ps(pa[d * 8 + i]);
            lo[i] = _mm512_fmadd_ps(a, b0, lo[i]);
            hi[i] = _mm512_fmadd_ps(a, b1, hi[i]);
        }
    }
    for (int i = 0; i < 8; i++) {
        _mm512_storeu_ps(c + i * ldc, lo[i]);
        _mm512_storeu_ps(c + i * ldc + 16, hi[i]);
    }
}

static float bf16(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    u += 0x7fffu + ((u >> 16) & 1u);
    u &= 0xffff0000u;
    memcpy(&x, &u, 4);
    return x;
}

// max over C of |c - exact| / Σ_p |a_ip b_pj|: the error relative to the size of the terms.
static double error(const float *c, const double *exact, const double *magnitude, long count) {
    double worst = 0;
    for (long i = 0; i < count; i++) worst = fmax(worst, fabs(c[i] - exact[i]) / magnitude[i]);
    return worst;
}

int main(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512fp16")) {
        printf("this CPU has no AVX-512 FP16\n");
        return 1;
    }
    // Multiples of the tiles: the rates are of the kernels, not of edge handling.
    const long shapes[][3] = {{512, 512, 512}, {2048, 768, 256}, {256, 1024, 2048}, {2048, 256, 1024}};
    for (int s = 0; s < 4; s++) {
        long m = shapes[s][0], n = shapes[s][1], k = shapes[s][2], k2 = (k + 1) / 2;
        float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n);
        float *c16 = malloc(sizeof(float) * m * n), *c32 = malloc(sizeof(float) * m * n);
        for (long i = 0; i < m * k; i++) a[i] = normal();
        for (long i = 0; i < k * n; i++) b[i] = 0.02f * normal() * (uniform() < 0.01 ? 30 : 1);
        float sa = scale_for(a, m * k), sb = scale_for(b, k * n);
        _Float16 *pa16 = malloc(2 * (m + 7) / 8 * 8 * 2 * k2), *pb16 = malloc(2 * (n + 31) / 32 * 32 * 2 * k2);
        float *pa32 = malloc(4 * ((m + 7) / 8) * 8 * k), *pb32 = malloc(4 * ((n + 31) / 32) * 32 * k);
        pack16p(a, m, k, k, 1, 8, sa, pa16);
        pack16p(b, n, k, 1, n, 32, sb, pb16);
        pack32(a, m, k, k, 1, 8, pa32);
        pack32(b, n, k, 1, n, 32, pb32);
        double best16 = 0, best32 = 0, flops = 2.0 * m * n * k;
        for (int round = 0; round < 5; round++) {
            double t = now();
            for (long q = 0; q < n / 32; q++)
                for (long p = 0; p < m / 8; p++)
                    tile16p(pa16 + p * 8 * 2 * k2, pb16 + q * 32 * 2 * k2, k, 1 / (sa * sb), c16 + p * 8 * n + q * 32, n);
            double r16 = flops / (now() - t) / 1e9;
            t = now();
            for (long q = 0; q < n / 32; q++)
                for (long p = 0; p < m / 8; p++) tile32(pa32 + p * 8 * k, pb32 + q * 32 * k, k, c32 + p * 8 * n + q * 32, n);
            double r32 = flops / (now() - t) / 1e9;
            best16 = r16 > best16 ? r16 : best16;
            best32 = r32 > best32 ? r32 : best32;
        }
        // Errors on a sample of outputs (the double product of every output is slow).
        enum { samples = 4096 };
        static double exact[samples], magnitude[samples];
        static float g16[samples], g32[samples], gbf[samples];
        for (long t = 0; t < samples; t++) {
            long i = (t * 7919) % m, j = (t * 104729) % n;
            double e = 0, mag = 0;
            float sum_bf = 0;
            for (long d = 0; d < k; d++) {
                e += (double)a[i * k + d] * b[d * n + j];
                mag += fabs((double)a[i * k + d] * b[d * n + j]);
                sum_bf += bf16(a[i * k + d]) * bf16(b[d * n + j]);
            }
            exact[t] = e, magnitude[t] = mag, gbf[t] = sum_bf;
            g16[t] = c16[i * n + j], g32[t] = c32[i * n + j];
        }
        printf("[%ldx%ld] x [%ldx%ld], one core: float16 tile (sums of %d, then float32) %.1f GFLOP/s, float32 tile "
               "%.1f GFLOP/s: %.2fx; error relative to the terms' sum: float16 %.2e, bfloat16 operands %.2e, "
               "float32 %.2e\n",
               m, k, k, n, CHUNK, best16, best32, best16 / best32, error(g16, exact, magnitude, samples),
               error(gbf, exact, magnitude, samples), error(g32, exact, magnitude, samples));
        free(a), free(b), free(c16), free(c32), free(pa16), free(pb16), free(pa32), free(pb32);
    }
    return 0;
}
