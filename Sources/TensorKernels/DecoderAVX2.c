// The integer decoder kernels (TensorKernels.h: `cadenza_int8_rows`, `cadenza_int4_rows` and
// their many-vector forms) for CPUs with AVX2 but not AVX-512 VNNI, such as AMD's Zen 3. AVX2
// has no single instruction that multiplies and adds integers into 32-bit sums, but two come
// close: `vpmaddwd` multiplies 16 pairs of 16-bit integers and adds them pairwise into 8 32-bit
// lanes (int8's 16-bit inputs against its weights widened to 16 bits), and `vpmaddubsw`
// multiplies 32 unsigned bytes by 32 signed ones and adds them pairwise into 16-bit lanes
// (int4's nibbles against its 8-bit inputs, where no pair can reach 2^15). Every sum is exact,
// and each row is finished by DecoderRows.h's operations, so these kernels give the plain
// loops' numbers to the bit, and the VNNI kernels'.
#include "DecoderRows.h"
#include "TensorKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2_TARGET __attribute__((target("avx2")))

int cadenza_cpu_has_avx2(void) {
    static int has = -1;
    if (has < 0) {
        __builtin_cpu_init();
        has = __builtin_cpu_supports("avx2") != 0;
    }
    return has;
}

// 16 int8 weights widened to 16 bits.
AVX2_TARGET static inline __m256i widened16(const int8_t *p) {
    return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)p));
}

// x[p ..< p + 16] against 16 weights, multiplied and added pairwise into a's 8 lanes.
AVX2_TARGET static inline __m256i multiply_add(__m256i a, const int16_t *x, const int8_t *w) {
    return _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)x), widened16(w)));
}

// A row's total from its two vectors of 8 lanes (the first and second 16 inputs of every 32, so
// that each lane adds stride / 16 products, as a VNNI lane does, and the header's bound on x
// keeps every lane inside 32 bits). Added exactly: in 64 bits, or in 32 where `narrow` (stride
// <= 512) keeps every total below 2^31.
AVX2_TARGET static inline int64_t row_total(__m256i a, __m256i b, int narrow) {
    if (narrow) {
        const __m256i s = _mm256_add_epi32(a, b);
        __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        t = _mm_add_epi32(t, _mm_shuffle_epi32(t, _MM_SHUFFLE(1, 0, 3, 2)));
        t = _mm_add_epi32(t, _mm_shuffle_epi32(t, _MM_SHUFFLE(2, 3, 0, 1)));
        return _mm_cvtsi128_si32(t);
    }
    const __m256i wide = _mm256_add_epi64(
        _mm256_add_epi64(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(a)),
                         _mm256_cvtepi32_epi64(_mm256_extracti128_si256(a, 1))),
        _mm256_add_epi64(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(b)),
                         _mm256_cvtepi32_epi64(_mm256_extracti128_si256(b, 1))));
    const __m128i t = _mm_add_epi64(_mm256_castsi256_si128(wide), _mm256_extracti128_si256(wide, 1));
    return _mm_cvtsi128_si64(t) + _mm_extract_epi64(t, 1);
}

// Four rows at a time share each load of x.
AVX2_TARGET void cadenza_int8_rows_avx2(const int16_t *x, const int8_t *w, long stride, long first, long last,
                                        const float *scales, float input_scale, const float *bias, int accumulate,
                                        float *y) {
    const int narrow = stride <= 512;
    long j = first;
    for (; j + 4 <= last; j += 4) {
        const int8_t *r0 = w + j * stride, *r1 = r0 + stride, *r2 = r1 + stride, *r3 = r2 + stride;
        __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        // The next four rows follow these in memory: asked for now, two cache lines per step, so
        // that they arrive while these are summed (as the VNNI kernel does).
        const char *next = (const char *)(r0 + 4 * stride);
        const int fetch_next = j + 8 <= last;
        for (long p = 0; p < stride; p += 32) {
            if (fetch_next) {
                _mm_prefetch(next + 4 * p, _MM_HINT_T0);
                _mm_prefetch(next + 4 * p + 64, _MM_HINT_T0);
            }
            const __m256i x0 = _mm256_loadu_si256((const __m256i *)(x + p));
            const __m256i x1 = _mm256_loadu_si256((const __m256i *)(x + p + 16));
            a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(x0, widened16(r0 + p)));
            b0 = _mm256_add_epi32(b0, _mm256_madd_epi16(x1, widened16(r0 + p + 16)));
            a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(x0, widened16(r1 + p)));
            b1 = _mm256_add_epi32(b1, _mm256_madd_epi16(x1, widened16(r1 + p + 16)));
            a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(x0, widened16(r2 + p)));
            b2 = _mm256_add_epi32(b2, _mm256_madd_epi16(x1, widened16(r2 + p + 16)));
            a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(x0, widened16(r3 + p)));
            b3 = _mm256_add_epi32(b3, _mm256_madd_epi16(x1, widened16(r3 + p + 16)));
        }
        const int64_t totals[4] = {row_total(a0, b0, narrow), row_total(a1, b1, narrow), row_total(a2, b2, narrow),
                                   row_total(a3, b3, narrow)};
        for (int q = 0; q < 4; q++) {
            store_output(y, j + q, row_output(totals[q], scales[j + q], input_scale, bias, j + q), accumulate);
        }
    }
    for (; j < last; j++) {
        const int8_t *r = w + j * stride;
        __m256i a = _mm256_setzero_si256(), b = a;
        for (long p = 0; p < stride; p += 32) {
            a = multiply_add(a, x + p, r + p);
            b = multiply_add(b, x + p + 16, r + p + 16);
        }
        store_output(y, j, row_output(row_total(a, b, narrow), scales[j], input_scale, bias, j), accumulate);
    }
}

// Four vectors' totals of one row, each from its 8 lanes, as the four 32-bit lanes of one vector:
// one tree of pairwise adds instead of four separate sums (short rows noticed them: a row of
// 256 inputs is only eight steps of the loop). In 32 bits, for rows up to 512 (`narrow`).
AVX2_TARGET static inline __m128i four_totals(__m256i s0, __m256i s1, __m256i s2, __m256i s3) {
    const __m256i u = _mm256_hadd_epi32(_mm256_hadd_epi32(s0, s1), _mm256_hadd_epi32(s2, s3));
    return _mm_add_epi32(_mm256_castsi256_si128(u), _mm256_extracti128_si256(u, 1));
}

// row_output and store_output for row j of four vectors (`input_scales[0..<4]`, outputs
// `y_stride` apart) from their totals: the same operations, one vector wide (a total below 2^31
// converts to the same float from 32 bits as from 64; multiplication commutes exactly).
AVX2_TARGET static inline void store_four_vectors(__m128i totals, long j, const float *scales,
                                                  const float *input_scales, const float *bias, int accumulate,
                                                  float *y, long y_stride) {
    const __m128 scale = _mm_mul_ps(_mm_set1_ps(scales[j]), _mm_loadu_ps(input_scales));
    const __m128 out = _mm_add_ps(_mm_mul_ps(_mm_cvtepi32_ps(totals), scale), _mm_set1_ps(bias ? bias[j] : 0.0f));
    float values[4];
    _mm_storeu_ps(values, out);
    for (int q = 0; q < 4; q++) store_output(y + q * y_stride, j, values[q], accumulate);
}

// Four vectors against one row at a time: the row's weights are widened once for the four, and
// each vector's inputs are read straight into `vpmaddwd` (a memory operand, no separate load),
// so 32 inputs of four vectors cost 2 widenings, 8 multiply-adds and 8 adds (two vectors against
// two rows, tried first, cost 4 widenings and 4 loads more: its slides were slower). Rows go in
// tiles of 32 whose weights stay in L1 while every vector passes over them (as the VNNI kernel's).
AVX2_TARGET void cadenza_int8_rows_many_avx2(const int16_t *x, long x_stride, const float *input_scales, long n,
                                             const int8_t *w, long stride, long first, long last,
                                             const float *scales, const float *bias, int accumulate, float *y,
                                             long y_stride) {
    enum { tile = 32 };
    const int narrow = stride <= 512;
    for (long t = first; t < last; t += tile) {
        const long t_end = t + tile < last ? t + tile : last;
        long i = 0;
        for (; i + 4 <= n; i += 4) {
            const int16_t *x0 = x + i * x_stride, *x1 = x0 + x_stride, *x2 = x1 + x_stride, *x3 = x2 + x_stride;
            for (long j = t; j < t_end; j++) {
                const int8_t *r = w + j * stride;
                __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
                for (long p = 0; p < stride; p += 32) {
                    const __m256i low = widened16(r + p), high = widened16(r + p + 16);
#define CADENZA_INT8_VECTOR(xi, a, b)                                                                                  \
    a = _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(xi + p)), low));                    \
    b = _mm256_add_epi32(b, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(xi + p + 16)), high));
                    CADENZA_INT8_VECTOR(x0, a0, b0)
                    CADENZA_INT8_VECTOR(x1, a1, b1)
                    CADENZA_INT8_VECTOR(x2, a2, b2)
                    CADENZA_INT8_VECTOR(x3, a3, b3)
#undef CADENZA_INT8_VECTOR
                }
                if (narrow) {
                    store_four_vectors(four_totals(_mm256_add_epi32(a0, b0), _mm256_add_epi32(a1, b1),
                                                   _mm256_add_epi32(a2, b2), _mm256_add_epi32(a3, b3)),
                                       j, scales, input_scales + i, bias, accumulate, y + i * y_stride, y_stride);
                    continue;
                }
                const int64_t totals[4] = {row_total(a0, b0, 0), row_total(a1, b1, 0), row_total(a2, b2, 0),
                                           row_total(a3, b3, 0)};
                for (int q = 0; q < 4; q++) {
                    store_output(y + (i + q) * y_stride, j,
                                 row_output(totals[q], scales[j], input_scales[i + q], bias, j), accumulate);
                }
            }
        }
        for (; i < n; i++) {
            cadenza_int8_rows_avx2(x + i * x_stride, w, stride, t, t_end, scales, input_scales[i], bias, accumulate,
                                   y + i * y_stride);
        }
    }
}

// int4: a panel's group of 8 inputs is 64 bytes, rows 0-7 in the first 32 and rows 8-15 in the
// second, each 32-bit lane one row's four bytes (TensorKernels.h). Against the input's four
// bytes broadcast to every lane, `vpmaddubsw` makes each row's products of inputs 0-3 (low
// nibbles) and 4-7 (high nibbles) into two 16-bit pair sums per lane, each at most
// 2 x 15 x 127 (no saturation); the two halves' sums are added (at most 4 x 15 x 127) and
// `vpmaddwd` by ones adds a lane's two 16-bit sums into its row's 32-bit dot product.
AVX2_TARGET static inline __m256i eight_products(__m256i v, __m256i low, __m256i high) {
    const __m256i mask = _mm256_set1_epi8(0x0F);
    const __m256i products = _mm256_add_epi16(
        _mm256_maddubs_epi16(_mm256_and_si256(v, mask), low),
        _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(v, 4), mask), high));
    return _mm256_madd_epi16(products, _mm256_set1_epi16(1));
}

// The input's four bytes at x[p ..< p + 4], in every 32-bit lane.
AVX2_TARGET static inline __m256i four_inputs(const int8_t *x, long p) {
    int32_t four;
    __builtin_memcpy(&four, x + p, 4);
    return _mm256_set1_epi32(four);
}

// Panel `panel`'s rows that lie in first ..< last, from their 16 dot products (rows 0-7 in
// `low_rows`, 8-15 in `high_rows`), finished one row at a time as the plain loop does.
AVX2_TARGET static inline void store_panel(__m256i low_rows, __m256i high_rows, int32_t x_sum, long panel,
                                           long first, long last, const float *scales, float input_scale,
                                           const float *bias, int accumulate, float *y) {
    int32_t dots[16];
    _mm256_storeu_si256((__m256i *)dots, low_rows);
    _mm256_storeu_si256((__m256i *)(dots + 8), high_rows);
    const long row = panel * 16;
    const long from = first > row ? first : row, to = last < row + 16 ? last : row + 16;
    for (long j = from; j < to; j++) {
        store_output(y, j, row_output(int4_total(dots[j - row], x_sum), scales[j], input_scale, bias, j), accumulate);
    }
}

// One vector: two panels at a time (four chains of dependent sums).
AVX2_TARGET void cadenza_int4_rows_avx2(const int8_t *x, int32_t x_sum, const uint8_t *w, long stride, long first,
                                        long last, const float *scales, float input_scale, const float *bias,
                                        int accumulate, float *y) {
    if (first >= last) return;
    const long groups = stride / 8, end = (last + 15) / 16;
    long panel = first / 16;
    for (; panel + 2 <= end; panel += 2) {
        const uint8_t *w0 = w + panel * groups * 64, *w1 = w0 + groups * 64;
        __m256i a0 = _mm256_setzero_si256(), b0 = a0, a1 = a0, b1 = a0;
        for (long g = 0; g < groups; g++) {
            const __m256i low = four_inputs(x, 8 * g), high = four_inputs(x, 8 * g + 4);
            a0 = _mm256_add_epi32(a0, eight_products(_mm256_loadu_si256((const __m256i *)(w0 + g * 64)), low, high));
            b0 = _mm256_add_epi32(b0,
                                  eight_products(_mm256_loadu_si256((const __m256i *)(w0 + g * 64 + 32)), low, high));
            a1 = _mm256_add_epi32(a1, eight_products(_mm256_loadu_si256((const __m256i *)(w1 + g * 64)), low, high));
            b1 = _mm256_add_epi32(b1,
                                  eight_products(_mm256_loadu_si256((const __m256i *)(w1 + g * 64 + 32)), low, high));
        }
        store_panel(a0, b0, x_sum, panel, first, last, scales, input_scale, bias, accumulate, y);
        store_panel(a1, b1, x_sum, panel + 1, first, last, scales, input_scale, bias, accumulate, y);
    }
    for (; panel < end; panel++) {
        const uint8_t *w0 = w + panel * groups * 64;
        __m256i a = _mm256_setzero_si256(), b = a;
        for (long g = 0; g < groups; g++) {
            const __m256i low = four_inputs(x, 8 * g), high = four_inputs(x, 8 * g + 4);
            a = _mm256_add_epi32(a, eight_products(_mm256_loadu_si256((const __m256i *)(w0 + g * 64)), low, high));
            b = _mm256_add_epi32(b, eight_products(_mm256_loadu_si256((const __m256i *)(w0 + g * 64 + 32)), low, high));
        }
        store_panel(a, b, x_sum, panel, first, last, scales, input_scale, bias, accumulate, y);
    }
}

// Many vectors: four vectors against one panel at a time, each load of the panel serving the
// four; the rest through the one-vector kernel. Exact integers finished by the same operations:
// every output is the one-vector kernel's number.
AVX2_TARGET void cadenza_int4_rows_many_avx2(const int8_t *x, long x_stride, const int32_t *x_sums,
                                             const float *input_scales, long n, const uint8_t *w, long stride,
                                             long first, long last, const float *scales, const float *bias,
                                             int accumulate, float *y, long y_stride) {
    if (first >= last) return;
    const long groups = stride / 8, begin = first / 16, end = (last + 15) / 16;
    long i = 0;
    for (; i + 4 <= n; i += 4) {
        const int8_t *x0 = x + i * x_stride, *x1 = x0 + x_stride, *x2 = x1 + x_stride, *x3 = x2 + x_stride;
        for (long panel = begin; panel < end; panel++) {
            const uint8_t *w0 = w + panel * groups * 64;
            __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            for (long g = 0; g < groups; g++) {
                const __m256i low_rows = _mm256_loadu_si256((const __m256i *)(w0 + g * 64));
                const __m256i high_rows = _mm256_loadu_si256((const __m256i *)(w0 + g * 64 + 32));
#define CADENZA_INT4_VECTOR(xi, a, b)                                                                                  \
    {                                                                                                                  \
        const __m256i low = four_inputs(xi, 8 * g), high = four_inputs(xi, 8 * g + 4);                                 \
        a = _mm256_add_epi32(a, eight_products(low_rows, low, high));                                                  \
        b = _mm256_add_epi32(b, eight_products(high_rows, low, high));                                                 \
    }
                CADENZA_INT4_VECTOR(x0, a0, b0)
                CADENZA_INT4_VECTOR(x1, a1, b1)
                CADENZA_INT4_VECTOR(x2, a2, b2)
                CADENZA_INT4_VECTOR(x3, a3, b3)
#undef CADENZA_INT4_VECTOR
            }
            store_panel(a0, b0, x_sums[i], panel, first, last, scales, input_scales[i], bias, accumulate,
                        y + i * y_stride);
            store_panel(a1, b1, x_sums[i + 1], panel, first, last, scales, input_scales[i + 1], bias, accumulate,
                        y + (i + 1) * y_stride);
            store_panel(a2, b2, x_sums[i + 2], panel, first, last, scales, input_scales[i + 2], bias, accumulate,
                        y + (i + 2) * y_stride);
            store_panel(a3, b3, x_sums[i + 3], panel, first, last, scales, input_scales[i + 3], bias, accumulate,
                        y + (i + 3) * y_stride);
        }
    }
    for (; i < n; i++) {
        cadenza_int4_rows_avx2(x + i * x_stride, x_sums[i], w, stride, first, last, scales, input_scales[i], bias,
                               accumulate, y + i * y_stride);
    }
}

#else

int cadenza_cpu_has_avx2(void) { return 0; }

void cadenza_int8_rows_avx2(const int16_t *x, const int8_t *w, long stride, long first, long last,
                            const float *scales, float input_scale, const float *bias, int accumulate, float *y) {
    cadenza_int8_rows_portable(x, w, stride, first, last, scales, input_scale, bias, accumulate, y);
}

void cadenza_int8_rows_many_avx2(const int16_t *x, long x_stride, const float *input_scales, long n, const int8_t *w,
                                 long stride, long first, long last, const float *scales, const float *bias,
                                 int accumulate, float *y, long y_stride) {
    cadenza_int8_rows_many_portable(x, x_stride, input_scales, n, w, stride, first, last, scales, bias, accumulate, y,
                                    y_stride);
}

void cadenza_int4_rows_avx2(const int8_t *x, int32_t x_sum, const uint8_t *w, long stride, long first, long last,
                            const float *scales, float input_scale, const float *bias, int accumulate, float *y) {
    cadenza_int4_rows_portable(x, x_sum, w, stride, first, last, scales, input_scale, bias, accumulate, y);
}

void cadenza_int4_rows_many_avx2(const int8_t *x, long x_stride, const int32_t *x_sums, const float *input_scales,
                                 long n, const uint8_t *w, long stride, long first, long last, const float *scales,
                                 const float *bias, int accumulate, float *y, long y_stride) {
    cadenza_int4_rows_many_portable(x, x_stride, x_sums, input_scales, n, w, stride, first, last, scales, bias,
                                    accumulate, y, y_stride);
}

#endif
