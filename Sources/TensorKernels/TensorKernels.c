#include "TensorKernels.h"

void cadenza_int8_dot_rows_portable(const int16_t *x, const int8_t *w, long stride, long first, long last,
                                    int64_t *out) {
    for (long j = first; j < last; j++) {
        const int8_t *r = w + j * stride;
        int64_t sum = 0;
        for (long p = 0; p < stride; p++) sum += (int32_t)x[p] * (int32_t)r[p];
        out[j - first] = sum;
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

// The sixteen 32-bit lanes added in 64 bits: each lane is bounded, their total need not fit 32.
VNNI_TARGET static inline int64_t lanes(__m512i a) {
    return _mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_cvtepi32_epi64(_mm512_castsi512_si256(a)),
                                                    _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(a, 1))));
}

VNNI_TARGET static void dot_rows_vnni(const int16_t *x, const int8_t *w, long stride, long first, long last,
                                      int64_t *out) {
    long j = first;
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
        out[j - first] = lanes(a0);
        out[j - first + 1] = lanes(a1);
        out[j - first + 2] = lanes(a2);
        out[j - first + 3] = lanes(a3);
    }
    for (; j < last; j++) {
        const int8_t *r = w + j * stride;
        __m512i a = _mm512_setzero_si512();
        for (long p = 0; p < stride; p += 32) {
            a = _mm512_dpwssd_epi32(a, _mm512_loadu_si512((const void *)(x + p)), widened(r + p));
        }
        out[j - first] = lanes(a);
    }
}

int cadenza_int8_dot_rows_uses_vnni(void) {
    static int has = -1;
    if (has < 0) {
        __builtin_cpu_init();
        has = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw");
    }
    return has;
}

void cadenza_int8_dot_rows(const int16_t *x, const int8_t *w, long stride, long first, long last,
                           int64_t *out) {
    if (cadenza_int8_dot_rows_uses_vnni()) {
        dot_rows_vnni(x, w, stride, first, last, out);
    } else {
        cadenza_int8_dot_rows_portable(x, w, stride, first, last, out);
    }
}

#else

int cadenza_int8_dot_rows_uses_vnni(void) { return 0; }

void cadenza_int8_dot_rows(const int16_t *x, const int8_t *w, long stride, long first, long last,
                           int64_t *out) {
    cadenza_int8_dot_rows_portable(x, w, stride, first, last, out);
}

#endif
