#include "TensorKernels.h"

#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

// Dropout masks for several streams at once (Tensor's `Dropout.makeMasks`). Each stream's mask is
// drawn from a xoshiro256** generator of its own, in index order, one 64-bit draw per two
// elements, so a stream's draws form one serial chain; drawing eight streams side by side in the
// lanes of a vector runs eight chains at once. The numbers are those of the plain loop below
// (and of Swift's `SeededGenerator`) to the bit.

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t next(uint64_t *s) {
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

// Elements first ..< count of one stream (first even), from its generator `s`.
static void stream_plain(uint64_t *s, long first, long count, uint32_t threshold, float keep, float *mask, float *x) {
    for (long i = first; i < count; i += 2) {
        uint64_t bits = next(s);
        mask[i] = (uint32_t)(bits >> 40) < threshold ? 0 : keep;
        if (x) x[i] = x[i] * mask[i];
        if (i + 1 < count) {
            mask[i + 1] = (uint32_t)((bits >> 8) & 0xffffff) < threshold ? 0 : keep;
            if (x) x[i + 1] = x[i + 1] * mask[i + 1];
        }
    }
}

void cadenza_dropout_masks_portable(uint64_t *states, long streams, long count, uint32_t threshold, float keep,
                                    float *mask, float *x) {
    for (long s = 0; s < streams; s++)
        stream_plain(states + 4 * s, 0, count, threshold, keep, mask + s * count, x ? x + s * count : 0);
}

#if defined(__x86_64__)
#define MASK_TARGET __attribute__((target("avx512f,avx512dq")))

MASK_TARGET static inline __m512i rotl8(__m512i x, int k) { return _mm512_or_si512(_mm512_slli_epi64(x, k), _mm512_srli_epi64(x, 64 - k)); }

// Up to eight streams (`lanes`): blocks of 16 elements per stream, eight draws per lane, each
// draw's two 24-bit halves compared with the threshold and gathered as bits of one 16-bit keep
// pattern per lane; each lane's pattern then selects `keep` or 0 for its 16 consecutive floats.
MASK_TARGET static void group_avx512(uint64_t *states, long lanes, long count, uint32_t threshold, float keep,
                                     float *mask, float *x) {
    __mmask8 active = (__mmask8)((1u << lanes) - 1);
    __m512i index = _mm512_mullo_epi64(_mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7), _mm512_set1_epi64(4));
    __m512i s0 = _mm512_mask_i64gather_epi64(_mm512_setzero_si512(), active, index, states, 8);
    __m512i s1 = _mm512_mask_i64gather_epi64(_mm512_setzero_si512(), active, index, states + 1, 8);
    __m512i s2 = _mm512_mask_i64gather_epi64(_mm512_setzero_si512(), active, index, states + 2, 8);
    __m512i s3 = _mm512_mask_i64gather_epi64(_mm512_setzero_si512(), active, index, states + 3, 8);
    const __m512i limit = _mm512_set1_epi64(threshold), low24 = _mm512_set1_epi64(0xffffff);
    const __m512 kept = _mm512_set1_ps(keep);
    long block = 0;
    for (; block + 16 <= count; block += 16) {
        __m512i pattern = _mm512_setzero_si512();
        for (int t = 0; t < 8; t++) {
            __m512i result = rotl8(_mm512_add_epi64(s1, _mm512_slli_epi64(s1, 2)), 7);
            result = _mm512_add_epi64(result, _mm512_slli_epi64(result, 3));
            __m512i shifted = _mm512_slli_epi64(s1, 17);
            s2 = _mm512_xor_si512(s2, s0);
            s3 = _mm512_xor_si512(s3, s1);
            s1 = _mm512_xor_si512(s1, s2);
            s0 = _mm512_xor_si512(s0, s3);
            s2 = _mm512_xor_si512(s2, shifted);
            s3 = rotl8(s3, 45);
            __mmask8 high = _mm512_cmpge_epu64_mask(_mm512_srli_epi64(result, 40), limit);
            __mmask8 low = _mm512_cmpge_epu64_mask(_mm512_and_si512(_mm512_srli_epi64(result, 8), low24), limit);
            pattern = _mm512_mask_or_epi64(pattern, high, pattern, _mm512_set1_epi64(1ll << (2 * t)));
            pattern = _mm512_mask_or_epi64(pattern, low, pattern, _mm512_set1_epi64(1ll << (2 * t + 1)));
        }
        uint64_t patterns[8];
        _mm512_storeu_si512(patterns, pattern);
        for (long l = 0; l < lanes; l++) {
            __m512 m = _mm512_maskz_mov_ps((__mmask16)patterns[l], kept);
            _mm512_storeu_ps(mask + l * count + block, m);
            if (x) {
                float *xs = x + l * count + block;
                _mm512_storeu_ps(xs, _mm512_mul_ps(_mm512_loadu_ps(xs), m));
            }
        }
    }
    _mm512_mask_i64scatter_epi64(states, active, index, s0, 8);
    _mm512_mask_i64scatter_epi64(states + 1, active, index, s1, 8);
    _mm512_mask_i64scatter_epi64(states + 2, active, index, s2, 8);
    _mm512_mask_i64scatter_epi64(states + 3, active, index, s3, 8);
    for (long l = 0; l < lanes; l++)
        stream_plain(states + 4 * l, block, count, threshold, keep, mask + l * count, x ? x + l * count : 0);
}

int cadenza_dropout_masks_use_avx512(void) {
    static int has = -1;
    if (has < 0) {
        __builtin_cpu_init();
        has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
    }
    return has;
}
#else
int cadenza_dropout_masks_use_avx512(void) { return 0; }
#endif

void cadenza_dropout_masks(uint64_t *states, long streams, long count, uint32_t threshold, float keep, float *mask,
                           float *x) {
#if defined(__x86_64__)
    if (cadenza_dropout_masks_use_avx512()) {
        for (long s = 0; s < streams; s += 8) {
            long lanes = streams - s < 8 ? streams - s : 8;
            group_avx512(states + 4 * s, lanes, count, threshold, keep, mask + s * count, x ? x + s * count : 0);
        }
        return;
    }
#endif
    cadenza_dropout_masks_portable(states, streams, count, threshold, keep, mask, x);
}
