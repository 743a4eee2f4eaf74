#include "TensorKernels.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

// Mixed-precision products on float16 arithmetic (Tensor's `Float16GEMM`, issue 19): where the CPU
// has AVX-512 FP16 (Intel Sapphire Rapids and later), `vfmadd231ph` does 32 float16 multiply-adds
// per instruction, twice float32's `vfmadd231ps`, while `vdpbf16ps` there runs at half float32's
// rate (docs/benchmarks.md, "Intel Xeon"). Float16's sums are too short for a whole dot product
// and its range is small, so:
// - each row of op(A) and each column of op(B) is scaled by a power of two (exact) that brings its
//   largest magnitude into [2^4, 2^5) (`cadenza_f16_lane_scales`), so a product is below 2^10 and
//   a row or column of small values keeps float16's precision however large the others are;
// - each lane sums at most F16_CHUNK products in float16 (below 2^15, inside float16's 65,504),
//   then the chunk is widened and added to float32 sums (chunks of 64 from scales one binade
//   lower made the tile about a tenth faster but moved training further from float32's: see
//   docs/training.md, "Float16 products");
// - each output is multiplied by its row's and its column's inverse scales (exact) before alpha.
// The operands are packed as `BFloat16GEMM` packs them (pairs of depths; `cadenza_f16_pack_a`,
// `cadenza_f16_pack_b`), so each lane sums every other depth, and the two are added at the end.

enum { F16_CHUNK = 32 };

float cadenza_f16_scale(float largest) {
    if (!(largest > 0) || isinf(largest)) return 1;  // zeros, NaN or infinity: nothing to scale
    int exponent = 4 - ilogbf(largest);
    return ldexpf(1, exponent > 126 ? 126 : exponent);
}

// Per lane, the largest |x| is found on the bits (with the sign cleared, floats order as integers
// do; a NaN's bits are above infinity's, so a NaN lane keeps the scale 1 and its NaN).
void cadenza_f16_lane_scales(long lanes, long depth, const float *x, long ld, int adjacent, float *scales,
                             float *inverses, float *sums) {
    uint32_t *largest = (uint32_t *)(void *)scales;  // the bits first, then the scales in place
    if (adjacent) {  // row l is lane l's values
        for (long l = 0; l < lanes; l++) {
            const uint32_t *row = (const uint32_t *)(const void *)(x + l * ld);
            uint32_t m = 0;
            for (long j = 0; j < depth; j++) m = (row[j] & 0x7fffffffu) > m ? row[j] & 0x7fffffffu : m;
            largest[l] = m;
            if (sums) {
                float total = sums[l];
                for (long j = 0; j < depth; j++) total += x[l * ld + j];
                sums[l] = total;
            }
        }
    } else if (sums) {  // the same, each lane's sum carried down the rows beside its maximum
        long l0 = 0;
#if defined(__AVX512F__)
        const __m512i magnitude = _mm512_set1_epi32(0x7fffffff);
        for (; l0 < lanes; l0 += 32) {
            long left = lanes - l0;
            __mmask16 valid0 = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
            __mmask16 valid1 = left >= 32 ? (__mmask16)0xffff : left > 16 ? (__mmask16)((1u << (left - 16)) - 1) : 0;
            __m512i m0 = _mm512_setzero_si512(), m1 = m0;
            __m512 t0 = _mm512_maskz_loadu_ps(valid0, sums + l0), t1 = _mm512_maskz_loadu_ps(valid1, sums + l0 + 16);
            for (long d = 0; d < depth; d++) {
                const float *row = x + d * ld + l0;
                __m512 v0 = _mm512_maskz_loadu_ps(valid0, row), v1 = _mm512_maskz_loadu_ps(valid1, row + 16);
                m0 = _mm512_max_epu32(m0, _mm512_and_si512(_mm512_castps_si512(v0), magnitude));
                m1 = _mm512_max_epu32(m1, _mm512_and_si512(_mm512_castps_si512(v1), magnitude));
                t0 = _mm512_add_ps(t0, v0);
                t1 = _mm512_add_ps(t1, v1);
            }
            _mm512_mask_storeu_epi32(largest + l0, valid0, m0);
            _mm512_mask_storeu_epi32(largest + l0 + 16, valid1, m1);
            _mm512_mask_storeu_ps(sums + l0, valid0, t0);
            _mm512_mask_storeu_ps(sums + l0 + 16, valid1, t1);
        }
#endif
        for (long l = l0; l < lanes; l++) largest[l] = 0;
        for (long d = 0; d < depth && l0 < lanes; d++) {
            const float *row = x + d * ld;
            for (long l = l0; l < lanes; l++) {
                uint32_t bits;
                memcpy(&bits, &row[l], 4);
                bits &= 0x7fffffffu;
                largest[l] = bits > largest[l] ? bits : largest[l];
                sums[l] += row[l];
            }
        }
    } else {  // row d holds every lane's value at depth d
        long l0 = 0;
#if defined(__AVX512F__)
        // 64 lanes at a time, their maxima held in four registers down all the rows (a loop over
        // the lanes of each row loads and stores every lane's maximum once per row), each row's
        // 64 values read as one contiguous run.
        const __m512i magnitude = _mm512_set1_epi32(0x7fffffff);
        for (; l0 < lanes; l0 += 64) {
            __mmask16 valid[4];
            for (int g = 0; g < 4; g++) {
                long left = lanes - l0 - 16 * g;
                valid[g] = left >= 16 ? (__mmask16)0xffff : left > 0 ? (__mmask16)((1u << left) - 1) : 0;
            }
            __m512i m0 = _mm512_setzero_si512(), m1 = m0, m2 = m0, m3 = m0;
            for (long d = 0; d < depth; d++) {
                const float *row = x + d * ld + l0;
                m0 = _mm512_max_epu32(m0, _mm512_and_si512(_mm512_maskz_loadu_epi32(valid[0], row), magnitude));
                m1 = _mm512_max_epu32(m1, _mm512_and_si512(_mm512_maskz_loadu_epi32(valid[1], row + 16), magnitude));
                m2 = _mm512_max_epu32(m2, _mm512_and_si512(_mm512_maskz_loadu_epi32(valid[2], row + 32), magnitude));
                m3 = _mm512_max_epu32(m3, _mm512_and_si512(_mm512_maskz_loadu_epi32(valid[3], row + 48), magnitude));
            }
            _mm512_mask_storeu_epi32(largest + l0, valid[0], m0);
            _mm512_mask_storeu_epi32(largest + l0 + 16, valid[1], m1);
            _mm512_mask_storeu_epi32(largest + l0 + 32, valid[2], m2);
            _mm512_mask_storeu_epi32(largest + l0 + 48, valid[3], m3);
        }
#endif
        for (long l = l0; l < lanes; l++) largest[l] = 0;
        for (long d = 0; d < depth && l0 < lanes; d++) {
            const uint32_t *row = (const uint32_t *)(const void *)(x + d * ld);
            for (long l = l0; l < lanes; l++) {
                uint32_t bits = row[l] & 0x7fffffffu;
                largest[l] = bits > largest[l] ? bits : largest[l];
            }
        }
    }
    for (long l = 0; l < lanes; l++) {
        float magnitude;
        memcpy(&magnitude, &largest[l], 4);
        scales[l] = cadenza_f16_scale(magnitude);
        inverses[l] = 1 / scales[l];
    }
}

static inline _Float16 half_of(uint16_t bits) {
    _Float16 h;
    memcpy(&h, &bits, 2);
    return h;
}

// One 12 x 32 tile in plain arithmetic, bit for bit what the AVX-512 FP16 path computes: each
// float16 multiply-add rounded once (a product of two float16 values is exact in double, and the
// sum rounded to double then to float16 rounds as a fused multiply-add would), chunks added in
// float32 in the same order, the two depths' sums added at the end.
static void tile_plain(const uint16_t *pa, const uint16_t *pb, long k2, float *tile) {
    for (long i = 0; i < 12; i++) {
        for (long j = 0; j < 32; j++) {
            float sums[2] = {0, 0};
            for (long k0 = 0; k0 < k2; k0 += F16_CHUNK) {
                long end = k0 + F16_CHUNK < k2 ? k0 + F16_CHUNK : k2;
                _Float16 h[2] = {0, 0};
                for (long kk = k0; kk < end; kk++) {
                    for (int e = 0; e < 2; e++) {
                        double a = (double)half_of(pa[kk * 24 + i * 2 + e]), b = (double)half_of(pb[kk * 64 + j * 2 + e]);
                        h[e] = (_Float16)(a * b + (double)h[e]);
                    }
                }
                sums[0] += (float)h[0];
                sums[1] += (float)h[1];
            }
            tile[i * 32 + j] = sums[0] + sums[1];
        }
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512bw,avx512vl,avx512fp16")))
static void tile_avx512fp16(const uint16_t *pa, const uint16_t *pb, long k2, float *tile) {
    // Per row, the float32 sums of 32 columns x 2 depths, in the lanes' order: column j's even
    // and odd depths at 2j and 2j + 1 (columns 16-31 from 32 on).
    float sums[12][64] __attribute__((aligned(64)));
    if (k2 == 0) memset(sums, 0, sizeof(sums));
    for (long k0 = 0; k0 < k2; k0 += F16_CHUNK) {
        long end = k0 + F16_CHUNK < k2 ? k0 + F16_CHUNK : k2;
        // Every loop over h unrolled whole, so that h lives in registers: an array the flush
        // indexes stays on the stack, cleared by a call to memset at every chunk.
        __m512h h[12][2];
#pragma clang loop unroll(full)
        for (int i = 0; i < 12; i++) h[i][0] = h[i][1] = _mm512_setzero_ph();
        for (long kk = k0; kk < end; kk++) {
            __m512h b0 = _mm512_castsi512_ph(_mm512_loadu_si512((const void *)(pb + kk * 64)));
            __m512h b1 = _mm512_castsi512_ph(_mm512_loadu_si512((const void *)(pb + kk * 64 + 32)));
            const uint32_t *pairs = (const uint32_t *)(const void *)(pa + kk * 24);
#pragma clang loop unroll(full)
            for (int i = 0; i < 12; i++) {
                __m512h a = _mm512_castsi512_ph(_mm512_set1_epi32((int)pairs[i]));
                h[i][0] = _mm512_fmadd_ph(a, b0, h[i][0]);
                h[i][1] = _mm512_fmadd_ph(a, b1, h[i][1]);
            }
        }
#pragma clang loop unroll(full)
        for (int i = 0; i < 12; i++) {
#pragma clang loop unroll(full)
            for (int half = 0; half < 2; half++) {
                __m512i bits = _mm512_castph_si512(h[i][half]);
                float *s = sums[i] + 32 * half;
                __m512 low = _mm512_cvtph_ps(_mm512_castsi512_si256(bits));
                __m512 high = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(bits, 1));
                // The first chunk is added to zeros held in registers rather than to memory cleared
                // beforehand (the same sums: 0 + x, which turns -0 into +0, as the plain loop does).
                __m512 old_low = k0 > 0 ? _mm512_load_ps(s) : _mm512_setzero_ps();
                __m512 old_high = k0 > 0 ? _mm512_load_ps(s + 16) : _mm512_setzero_ps();
                _mm512_store_ps(s, _mm512_add_ps(old_low, low));
                _mm512_store_ps(s + 16, _mm512_add_ps(old_high, high));
            }
        }
    }
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    for (int i = 0; i < 12; i++) {
        for (int half = 0; half < 2; half++) {
            __m512 v0 = _mm512_load_ps(sums[i] + 32 * half), v1 = _mm512_load_ps(sums[i] + 32 * half + 16);
            __m512 sum = _mm512_add_ps(_mm512_permutex2var_ps(v0, even, v1), _mm512_permutex2var_ps(v0, odd, v1));
            _mm512_storeu_ps(tile + i * 32 + 16 * half, sum);
        }
    }
}

int cadenza_cpu_has_avx512fp16(void) {
    static int has = -1;  // asked once: every product checks it
    if (has < 0) {
        __builtin_cpu_init();
        has = __builtin_cpu_supports("avx512fp16") != 0;
    }
    return has;
}
#else
static void tile_avx512fp16(const uint16_t *pa, const uint16_t *pb, long k2, float *tile) {
    tile_plain(pa, pb, k2, tile);
}
int cadenza_cpu_has_avx512fp16(void) { return 0; }
#endif

void cadenza_f16_gemm_packed(const uint16_t *packed_a, const uint16_t *packed_b, long m, long n, long k,
                             long first_row_panel, long last_row_panel, const float *row_inverses,
                             const float *column_inverses, float *c, long ldc, float alpha, float beta,
                             const float *bias, int rectified, int path) {
    cadenza_packed_tiles(path == 1 ? tile_avx512fp16 : tile_plain, packed_a, packed_b, m, n, k, first_row_panel,
                         last_row_panel, row_inverses, column_inverses, c, ldc, alpha, beta, bias, rectified);
}
