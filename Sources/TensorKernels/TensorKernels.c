#include "TensorKernels.h"

// One row's output from its exact sum: the same float operations, in the same order, as every
// path computes (the product of the two scales first, then times the sum, then the bias; a
// missing bias adds zero), so the vector and plain paths agree to the bit.
static inline float row_output(int64_t sum, float row_scale, float input_scale, const float *bias, long j) {
#pragma clang fp contract(off)
    float scale = row_scale * input_scale;
    float product = (float)sum * scale;
    return product + (bias ? bias[j] : 0.0f);
}

static inline void store_output(float *y, long j, float value, int accumulate) {
    y[j] = accumulate ? y[j] + value : value;
}

void cadenza_int8_rows_portable(const int16_t *x, const int8_t *w, long stride, long first, long last,
                                const float *scales, float input_scale, const float *bias, int accumulate,
                                float *y) {
    for (long j = first; j < last; j++) {
        const int8_t *r = w + j * stride;
        int64_t sum = 0;
        for (long p = 0; p < stride; p++) sum += (int32_t)x[p] * (int32_t)r[p];
        store_output(y, j, row_output(sum, scales[j], input_scale, bias, j), accumulate);
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#define VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vnni")))

// Four rows at a time share each load of x; each row's 32 weights are widened from 8 to 16 bits
// (vpmovsxbw) and multiply-added pairwise into 16 lanes (vpdpwssd). Measured on the Zen 4 this
// was written for, one thread: 64-75 G weights/s, against 29 for float16 weights (cvtph2ps+fma)
// (Benchmarks/decoder-dot-kernels.c). Compiled for AVX-512 VNNI alone and called only when the
// CPU has it, so one build serves every CPU.
VNNI_TARGET static inline __m512i widened(const int8_t *p) {
    return _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)p));
}

// The sixteen 32-bit lanes of one row added in 64 bits: each lane is bounded, their total need
// not fit 32.
VNNI_TARGET static inline int64_t lanes(__m512i a) {
    return _mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_cvtepi32_epi64(_mm512_castsi512_si256(a)),
                                                    _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(a, 1))));
}

// A row's sixteen 32-bit lanes as eight 64-bit sums.
VNNI_TARGET static inline __m512i widened_lanes(__m512i a) {
    return _mm512_add_epi64(_mm512_cvtepi32_epi64(_mm512_castsi512_si256(a)),
                            _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(a, 1)));
}

// The totals of four rows' lanes, exactly, as the four 64-bit lanes of one vector: a tree that
// adds the rows' halves together (pairs of 64-bit lanes, then 128-bit blocks) instead of four
// separate horizontal sums.
VNNI_TARGET static inline __m256i four_totals(__m512i a0, __m512i a1, __m512i a2, __m512i a3) {
    __m512i s0 = widened_lanes(a0), s1 = widened_lanes(a1), s2 = widened_lanes(a2), s3 = widened_lanes(a3);
    // Per 128-bit block: (row 0, row 1) and (row 2, row 3).
    __m512i t01 = _mm512_add_epi64(_mm512_unpacklo_epi64(s0, s1), _mm512_unpackhi_epi64(s0, s1));
    __m512i t23 = _mm512_add_epi64(_mm512_unpacklo_epi64(s2, s3), _mm512_unpackhi_epi64(s2, s3));
    // Blocks: t01's 0+1, t01's 2+3, t23's 0+1, t23's 2+3.
    __m512i u = _mm512_add_epi64(_mm512_shuffle_i64x2(t01, t23, _MM_SHUFFLE(2, 0, 2, 0)),
                                 _mm512_shuffle_i64x2(t01, t23, _MM_SHUFFLE(3, 1, 3, 1)));
    // Blocks 0 + 1 hold rows 0 and 1, blocks 2 + 3 rows 2 and 3.
    __m512i v = _mm512_add_epi64(u, _mm512_shuffle_i64x2(u, u, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm512_castsi512_si256(_mm512_permutexvar_epi64(_mm512_setr_epi64(0, 1, 4, 5, 0, 1, 4, 5), v));
}

VNNI_TARGET static void rows_vnni(const int16_t *x, const int8_t *w, long stride, long first, long last,
                                  const float *scales, float input_scale, const float *bias, int accumulate,
                                  float *y) {
    long j = first;
    const __m128 input = _mm_set1_ps(input_scale);
    for (; j + 4 <= last; j += 4) {
        const int8_t *r0 = w + j * stride, *r1 = r0 + stride, *r2 = r1 + stride, *r3 = r2 + stride;
        __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
        for (long p = 0; p < stride; p += 32) {
            __m512i xv = _mm512_loadu_si512((const void *)(x + p));
            a0 = _mm512_dpwssd_epi32(a0, xv, widened(r0 + p));
            a1 = _mm512_dpwssd_epi32(a1, xv, widened(r1 + p));
            a2 = _mm512_dpwssd_epi32(a2, xv, widened(r2 + p));
            a3 = _mm512_dpwssd_epi32(a3, xv, widened(r3 + p));
        }
        // row_output for four rows: separate multiplies and adds (intrinsics are never fused).
        __m128 sums = _mm256_cvtepi64_ps(four_totals(a0, a1, a2, a3));
        __m128 out = _mm_mul_ps(sums, _mm_mul_ps(_mm_loadu_ps(scales + j), input));
        out = _mm_add_ps(out, bias ? _mm_loadu_ps(bias + j) : _mm_setzero_ps());
        if (accumulate) out = _mm_add_ps(_mm_loadu_ps(y + j), out);
        _mm_storeu_ps(y + j, out);
    }
    for (; j < last; j++) {
        const int8_t *r = w + j * stride;
        __m512i a = _mm512_setzero_si512();
        for (long p = 0; p < stride; p += 32) {
            a = _mm512_dpwssd_epi32(a, _mm512_loadu_si512((const void *)(x + p)), widened(r + p));
        }
        store_output(y, j, row_output(lanes(a), scales[j], input_scale, bias, j), accumulate);
    }
}

int cadenza_int8_rows_use_vnni(void) {
    static int has = -1;
    if (has < 0) {
        __builtin_cpu_init();
        has = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw");
    }
    return has;
}

void cadenza_int8_rows(const int16_t *x, const int8_t *w, long stride, long first, long last, const float *scales,
                       float input_scale, const float *bias, int accumulate, float *y) {
    if (cadenza_int8_rows_use_vnni()) {
        rows_vnni(x, w, stride, first, last, scales, input_scale, bias, accumulate, y);
    } else {
        cadenza_int8_rows_portable(x, w, stride, first, last, scales, input_scale, bias, accumulate, y);
    }
}

#else

int cadenza_int8_rows_use_vnni(void) { return 0; }

void cadenza_int8_rows(const int16_t *x, const int8_t *w, long stride, long first, long last, const float *scales,
                       float input_scale, const float *bias, int accumulate, float *y) {
    cadenza_int8_rows_portable(x, w, stride, first, last, scales, input_scale, bias, accumulate, y);
}

#endif
