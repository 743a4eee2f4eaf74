#include "TensorKernels.h"
#include "DecoderRows.h"

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

void cadenza_int8_rows_many_portable(const int16_t *x, long x_stride, const float *input_scales, long n,
                                     const int8_t *w, long stride, long first, long last, const float *scales,
                                     const float *bias, int accumulate, float *y, long y_stride) {
    for (long i = 0; i < n; i++) {
        cadenza_int8_rows_portable(x + i * x_stride, w, stride, first, last, scales, input_scales[i], bias, accumulate,
                                   y + i * y_stride);
    }
}

// The nibble of row j, input p, in the panel layout the header describes.
static inline int32_t int4_weight(const uint8_t *w, long stride, long j, long p) {
    const uint8_t byte = w[cadenza_int4_byte(stride, j, p)];
    return p % 8 < 4 ? byte & 15 : byte >> 4;
}

void cadenza_int4_rows_portable(const int8_t *x, int32_t x_sum, const uint8_t *w, long stride, long first, long last,
                                const float *scales, float input_scale, const float *bias, int accumulate,
                                float *y) {
    for (long j = first; j < last; j++) {
        int64_t dot = 0;
        for (long p = 0; p < stride; p++) dot += int4_weight(w, stride, j, p) * x[p];
        store_output(y, j, row_output(int4_total(dot, x_sum), scales[j], input_scale, bias, j), accumulate);
    }
}

void cadenza_int4_rows_many_portable(const int8_t *x, long x_stride, const int32_t *x_sums, const float *input_scales,
                                     long n, const uint8_t *w, long stride, long first, long last,
                                     const float *scales, const float *bias, int accumulate, float *y, long y_stride) {
    for (long i = 0; i < n; i++) {
        cadenza_int4_rows_portable(x + i * x_stride, x_sums[i], w, stride, first, last, scales, input_scales[i], bias,
                                   accumulate, y + i * y_stride);
    }
}

#if defined(__x86_64__)
#include <immintrin.h>
#include <stdlib.h>

#define VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))

// Four rows at a time share each load of x; each row's 32 weights are widened from 8 to 16 bits
// (vpmovsxbw) and multiply-added pairwise into 16 lanes (vpdpwssd). Measured on the Zen 4 this
// was written for, one thread: 64-75 G weights/s, against 29 for float16 weights (cvtph2ps+fma)
// (Benchmarks/decoder-dot-kernels.c). Compiled for AVX-512 VNNI (with the BW, VL and DQ
// instructions it leans on, which every CPU with VNNI has) and called only when the CPU has all
// four, so one build serves every CPU, and a build on a CPU without AVX-512 compiles (.ci/run
// checks it).
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

// The same four totals in 32 bits, for rows short enough that no total can exceed them: with
// |x| <= 32767 and |w| <= 127, any stride up to 512 (2^31 > 512 * 127 * 32767). The same tree
// without the widening to 64 bits: fewer instructions, which short rows notice.
VNNI_TARGET static inline __m128i four_totals_narrow(__m512i a0, __m512i a1, __m512i a2, __m512i a3) {
    __m256i s0 = _mm256_add_epi32(_mm512_castsi512_si256(a0), _mm512_extracti64x4_epi64(a0, 1));
    __m256i s1 = _mm256_add_epi32(_mm512_castsi512_si256(a1), _mm512_extracti64x4_epi64(a1, 1));
    __m256i s2 = _mm256_add_epi32(_mm512_castsi512_si256(a2), _mm512_extracti64x4_epi64(a2, 1));
    __m256i s3 = _mm256_add_epi32(_mm512_castsi512_si256(a3), _mm512_extracti64x4_epi64(a3, 1));
    // Per 128-bit block: rows 0 and 1 interleaved, then rows 2 and 3.
    __m256i t01 = _mm256_add_epi32(_mm256_unpacklo_epi32(s0, s1), _mm256_unpackhi_epi32(s0, s1));
    __m256i t23 = _mm256_add_epi32(_mm256_unpacklo_epi32(s2, s3), _mm256_unpackhi_epi32(s2, s3));
    // Per 128-bit block: rows 0, 1, 2, 3.
    __m256i u = _mm256_add_epi32(_mm256_unpacklo_epi64(t01, t23), _mm256_unpackhi_epi64(t01, t23));
    return _mm_add_epi32(_mm256_castsi256_si128(u), _mm256_extracti128_si256(u, 1));
}

// The four rows' totals as floats, each the exact total rounded once (in 32 bits where `narrow`).
VNNI_TARGET static inline __m128 four_sums(__m512i a0, __m512i a1, __m512i a2, __m512i a3, int narrow) {
    if (narrow) return _mm_cvtepi32_ps(four_totals_narrow(a0, a1, a2, a3));
    return _mm256_cvtepi64_ps(four_totals(a0, a1, a2, a3));
}

// row_output and store_output for rows j ..< j + 4 from their four sums: separate multiplies
// and adds (intrinsics are never fused).
VNNI_TARGET static inline void store_four(__m128 sums, long j, const float *scales, __m128 input,
                                          const float *bias, int accumulate, float *y) {
    __m128 out = _mm_mul_ps(sums, _mm_mul_ps(_mm_loadu_ps(scales + j), input));
    out = _mm_add_ps(out, bias ? _mm_loadu_ps(bias + j) : _mm_setzero_ps());
    if (accumulate) out = _mm_add_ps(_mm_loadu_ps(y + j), out);
    _mm_storeu_ps(y + j, out);
}

VNNI_TARGET static void rows_vnni(const int16_t *x, const int8_t *w, long stride, long first, long last,
                                  const float *scales, float input_scale, const float *bias, int accumulate,
                                  float *y) {
    long j = first;
    const __m128 input = _mm_set1_ps(input_scale);
    const int narrow = stride <= 512;
    for (; j + 4 <= last; j += 4) {
        const int8_t *r0 = w + j * stride, *r1 = r0 + stride, *r2 = r1 + stride, *r3 = r2 + stride;
        __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
        // The next four rows follow these in memory: they are asked for now, two cache lines per
        // step, so that they arrive while these are summed (a step's weights outgrow L2, so each
        // row comes from further away).
        const char *next = (const char *)(r0 + 4 * stride);
        const int fetch_next = j + 8 <= last;
        for (long p = 0; p < stride; p += 32) {
            if (fetch_next) {
                _mm_prefetch(next + 4 * p, _MM_HINT_T0);
                _mm_prefetch(next + 4 * p + 64, _MM_HINT_T0);
            }
            __m512i xv = _mm512_loadu_si512((const void *)(x + p));
            a0 = _mm512_dpwssd_epi32(a0, xv, widened(r0 + p));
            a1 = _mm512_dpwssd_epi32(a1, xv, widened(r1 + p));
            a2 = _mm512_dpwssd_epi32(a2, xv, widened(r2 + p));
            a3 = _mm512_dpwssd_epi32(a3, xv, widened(r3 + p));
        }
        store_four(four_sums(a0, a1, a2, a3, narrow), j, scales, input, bias, accumulate, y);
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

// What both panel layouts (int8's below, int4's in TensorKernels.h) share: each 32-bit lane holds
// one row, so a vector's input bytes go to every lane, and sixteen rows are finished at once.

// The four bytes at `bytes + p`, in every 32-bit lane.
VNNI_TARGET static inline __m512i four_bytes(const void *bytes, long p) {
    int32_t four;
    __builtin_memcpy(&four, (const char *)bytes + p, 4);
    return _mm512_set1_epi32(four);
}

// Sixteen exact 64-bit totals (rows 0-7 in `low`, 8-15 in `high`), each converted to float once.
VNNI_TARGET static inline __m512 sixteen_floats(__m512i low, __m512i high) {
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtepi64_ps(low)), _mm512_cvtepi64_ps(high), 1);
}

// Rows row ..< row + 16 that `mask` holds, from their totals: row_output's and store_output's
// operations, in their order (never fused).
VNNI_TARGET static inline void store_sixteen(__m512 totals, __mmask16 mask, long row, const float *scales,
                                             float input_scale, const float *bias, int accumulate, float *y) {
    const __m512 scale = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, scales + row), _mm512_set1_ps(input_scale));
    __m512 out = _mm512_mul_ps(totals, scale);
    out = _mm512_add_ps(out, bias ? _mm512_maskz_loadu_ps(mask, bias + row) : _mm512_setzero_ps());
    if (accumulate) out = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, y + row), out);
    _mm512_mask_storeu_ps(y + row, mask, out);
}

// Many vectors: a context a GPT-2 decoder reads (its window's slide among them), where the
// multiply-adds rather than the weights' stream bound the product. Each 16-bit input is split
// into bytes, x = 256 * hi + lo with lo in 0...255 and hi in -128...127, so that `vpdpbusd` (64
// unsigned-by-signed byte products per instruction, against `vpdpwssd`'s 32 after a widening)
// makes both halves' dot products with the weights as they are stored:
//     D_lo = sum of lo * w,  D_hi = sum of (hi + 128) * w = sum of hi * w + 128 * W,
// W the row's weight sum, so sum of x * w = 256 * (D_hi - 128 * W) + D_lo exactly (64 bits).
// Every lane is one row, as int4's panels: 16 rows at a time are copied into a panel (each 32-bit
// lane one row's four bytes of an input group of four), so no horizontal sums are needed either.
// Each row's total is the exact integer rows_vnni makes, finished by the same operations: the
// same outputs (docs/tensor-kernels.md; measured in docs/benchmarks.md, "The Intel host, a fourth
// time").

enum { int8_panel_rows = 16 };

// Rows first ..< first + count (count <= 16) of the row-major weights as a panel: group g's 64
// bytes hold row r's inputs 4g ..< 4g + 4 at bytes 4r ..< 4r + 4; rows past `count` are zero.
// Sixteen groups at a time: the rows' 64 bytes as sixteen vectors of 32-bit lanes, transposed
// (unpacks within 128-bit blocks, then block shuffles). `sums` gets each row's weight sum (a dot
// product with bytes of one).
VNNI_TARGET static void int8_panel(const int8_t *w, long stride, long first, long count, uint8_t *panel,
                                   __m512i *sums) {
    const long groups = stride / 4;
    for (long g0 = 0; g0 < groups; g0 += 16) {
        const long columns = groups - g0 < 16 ? groups - g0 : 16;
        const __mmask16 mask = (__mmask16)((1u << columns) - 1);
        __m512i r[16], t[16];
        for (int q = 0; q < 16; q++) {
            r[q] = q < count ? _mm512_maskz_loadu_epi32(mask, w + (first + q) * stride + 4 * g0)
                             : _mm512_setzero_si512();
        }
        for (int q = 0; q < 16; q += 2) {  // per block: rows q, q + 1 of columns 4L, 4L + 1 | 4L + 2, 4L + 3
            t[q] = _mm512_unpacklo_epi32(r[q], r[q + 1]);
            t[q + 1] = _mm512_unpackhi_epi32(r[q], r[q + 1]);
        }
        for (int q = 0; q < 16; q += 4) {  // r[q + c], block L: rows q ..< q + 4 of column 4L + c
            r[q] = _mm512_unpacklo_epi64(t[q], t[q + 2]);
            r[q + 1] = _mm512_unpackhi_epi64(t[q], t[q + 2]);
            r[q + 2] = _mm512_unpacklo_epi64(t[q + 1], t[q + 3]);
            r[q + 3] = _mm512_unpackhi_epi64(t[q + 1], t[q + 3]);
        }
        for (int c = 0; c < 4; c++) {  // column 4L + c gathers block L of r[c], r[4 + c], r[8 + c], r[12 + c]
            const __m512i x0 = _mm512_shuffle_i32x4(r[c], r[4 + c], 0x88);
            const __m512i x1 = _mm512_shuffle_i32x4(r[c], r[4 + c], 0xDD);
            const __m512i y0 = _mm512_shuffle_i32x4(r[8 + c], r[12 + c], 0x88);
            const __m512i y1 = _mm512_shuffle_i32x4(r[8 + c], r[12 + c], 0xDD);
            t[c] = _mm512_shuffle_i32x4(x0, y0, 0x88);
            t[4 + c] = _mm512_shuffle_i32x4(x1, y1, 0x88);
            t[8 + c] = _mm512_shuffle_i32x4(x0, y0, 0xDD);
            t[12 + c] = _mm512_shuffle_i32x4(x1, y1, 0xDD);
        }
        for (long c = 0; c < columns; c++) _mm512_store_si512((void *)(panel + (g0 + c) * 64), t[c]);
    }
    const __m512i ones = _mm512_set1_epi8(1);
    __m512i s = _mm512_setzero_si512();
    for (long g = 0; g < groups; g++) {
        s = _mm512_dpbusd_epi32(s, ones, _mm512_load_si512((const void *)(panel + g * 64)));
    }
    *sums = s;
}

// The panel's rows first ..< first + count of one vector, from its two dot products: each total
// made exactly in 64 bits and converted once, then row_output's and store_output's operations.
VNNI_TARGET static inline void int8_store_panel(__m512i lo, __m512i hi, __m512i sums, long first, long count,
                                                const float *scales, float input_scale, const float *bias,
                                                int accumulate, float *y) {
    const __mmask16 mask = (__mmask16)((1u << count) - 1);
    const __m512i d = _mm512_sub_epi32(hi, _mm512_slli_epi32(sums, 7));  // |D_hi - 128 W| < 2^31
    const __m512i d0 = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(d));
    const __m512i d1 = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(d, 1));
    const __m512i l0 = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(lo));
    const __m512i l1 = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(lo, 1));
    const __m512 totals = sixteen_floats(_mm512_add_epi64(_mm512_slli_epi64(d0, 8), l0),
                                         _mm512_add_epi64(_mm512_slli_epi64(d1, 8), l1));
    store_sixteen(totals, mask, first, scales, input_scale, bias, accumulate, y);
}

// `vectors` (1 to 4) vectors' split inputs (`lo` and `hi` each `stride` bytes, vector k's
// `k * 2 * stride` on) against `panels` (1 or 2) panels, `16 * stride` bytes apart, holding rows
// first ..< first + count: two chains of `vpdpbusd` per vector and panel.
__attribute__((always_inline)) VNNI_TARGET static inline void int8_panel_vectors(
    const uint8_t *split, long stride, int vectors, const uint8_t *panel, int panels, const __m512i *sums,
    long first, long count, const float *scales, const float *input_scales, const float *bias, int accumulate,
    float *y, long y_stride) {
    __m512i lo[2][4], hi[2][4];
    for (int q = 0; q < 2; q++) {
        for (int k = 0; k < 4; k++) lo[q][k] = hi[q][k] = _mm512_setzero_si512();
    }
    for (long g = 0; g < stride / 4; g++) {
        __m512i v[2];
        for (int q = 0; q < panels; q++) v[q] = _mm512_load_si512((const void *)(panel + q * 16 * stride + g * 64));
        for (int k = 0; k < vectors; k++) {
            const __m512i l = four_bytes(split + k * 2 * stride, 4 * g);
            const __m512i h = four_bytes(split + k * 2 * stride + stride, 4 * g);
            for (int q = 0; q < panels; q++) {
                lo[q][k] = _mm512_dpbusd_epi32(lo[q][k], l, v[q]);
                hi[q][k] = _mm512_dpbusd_epi32(hi[q][k], h, v[q]);
            }
        }
    }
    for (int q = 0; q < panels; q++) {
        const long rows = count - 16 * q < 16 ? count - 16 * q : 16;
        for (int k = 0; k < vectors; k++) {
            int8_store_panel(lo[q][k], hi[q][k], sums[q], first + 16 * q, rows, scales, input_scales[k], bias,
                             accumulate, y + k * y_stride);
        }
    }
}

// All n vectors against a tile of `panels` panels, four vectors at a time (`panels` is a literal at
// each call, so that each count gets its own loop).
__attribute__((always_inline)) VNNI_TARGET static inline void int8_tile(
    const uint8_t *split, long n, long stride, const uint8_t *panel, int panels, const __m512i *sums, long first,
    long count, const float *scales, const float *input_scales, const float *bias, int accumulate, float *y,
    long y_stride) {
    long i = 0;
    for (; i + 4 <= n; i += 4) {
        int8_panel_vectors(split + i * 2 * stride, stride, 4, panel, panels, sums, first, count, scales,
                           input_scales + i, bias, accumulate, y + i * y_stride, y_stride);
    }
    for (; i < n; i++) {
        int8_panel_vectors(split + i * 2 * stride, stride, 1, panel, panels, sums, first, count, scales,
                           input_scales + i, bias, accumulate, y + i * y_stride, y_stride);
    }
}

VNNI_TARGET static void many_vnni(const int16_t *x, long x_stride, const float *input_scales, long n,
                                  const int8_t *w, long stride, long first, long last, const float *scales,
                                  const float *bias, int accumulate, float *y, long y_stride) {
    if (first >= last || n <= 0) return;
    // A lane holds a whole row's dot product, at most 255 * 127 * stride: past 2^16 inputs it
    // could leave 32 bits, and rows_vnni's lanes (stride / 16 products each) take over.
    const int fits = stride <= 65536;
    uint8_t *split = fits ? malloc((size_t)(n * 2 * stride)) : NULL;
    uint8_t *panel = fits ? aligned_alloc(64, (size_t)(2 * stride * int8_panel_rows)) : NULL;
    if (!split || !panel) {  // one vector at a time: the same numbers
        free(split);
        free(panel);
        for (long i = 0; i < n; i++) {
            rows_vnni(x + i * x_stride, w, stride, first, last, scales, input_scales[i], bias, accumulate,
                      y + i * y_stride);
        }
        return;
    }
    for (long i = 0; i < n; i++) {
        const int16_t *xi = x + i * x_stride;
        uint8_t *lo = split + i * 2 * stride, *hi = lo + stride;
        for (long p = 0; p < stride; p++) {
            lo[p] = (uint8_t)(xi[p] & 255);
            hi[p] = (uint8_t)((xi[p] >> 8) + 128);
        }
    }
    for (long t = first; t < last; t += 2 * int8_panel_rows) {
        const long count = last - t < 2 * int8_panel_rows ? last - t : 2 * int8_panel_rows;
        __m512i sums[2];
        int8_panel(w, stride, t, count < 16 ? count : 16, panel, &sums[0]);
        if (count > 16) {
            int8_panel(w, stride, t + 16, count - 16, panel + 16 * stride, &sums[1]);
            int8_tile(split, n, stride, panel, 2, sums, t, count, scales, input_scales, bias, accumulate, y, y_stride);
        } else {
            int8_tile(split, n, stride, panel, 1, sums, t, count, scales, input_scales, bias, accumulate, y, y_stride);
        }
    }
    free(split);
    free(panel);
}

// 4-bit weights in panels of 16 rows: each 64-byte load holds 8 inputs of 16 rows, unpacked by a
// mask (inputs 0-3 of the group, low nibbles) and a shift (inputs 4-7, high nibbles) into unsigned
// bytes, four per row in each 32-bit lane, that `vpdpbusd` multiplies with the input's four bytes
// broadcast to every lane: 64 products per instruction, and each lane ends holding one row's
// whole dot product, so no horizontal sums are needed (they were half the instructions of a
// row layout's kernel for rows of 256). Lanes stay in 32 bits (a row's dot product is at most
// 15 * |x| * stride, below 2^31 by the header's bound).
VNNI_TARGET static inline __m512i low_nibbles(__m512i b, __m512i mask) { return _mm512_and_si512(b, mask); }
VNNI_TARGET static inline __m512i high_nibbles(__m512i b, __m512i mask) {
    return _mm512_and_si512(_mm512_srli_epi16(b, 4), mask);
}

// Panel `panel`'s rows that lie in first ..< last, from their 16 dot products: each total made
// exactly in 64 bits (2 dot - 15 x_sum) and converted once, then the operations `row_output` and
// `store_output` do, in their order, on those rows only.
VNNI_TARGET static inline void int4_store_panel(__m512i dots, int32_t x_sum, long panel, long first, long last,
                                                const float *scales, float input_scale, const float *bias,
                                                int accumulate, float *y) {
    const long row = panel * 16;
    const long lo = first > row ? first - row : 0, hi = last < row + 16 ? last - row : 16;
    const __mmask16 mask = (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1));
    const __m512i offset = _mm512_set1_epi64(15 * (int64_t)x_sum);
    const __m512i d0 = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(dots));
    const __m512i d1 = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(dots, 1));
    const __m512 totals = sixteen_floats(_mm512_sub_epi64(_mm512_add_epi64(d0, d0), offset),
                                         _mm512_sub_epi64(_mm512_add_epi64(d1, d1), offset));
    store_sixteen(totals, mask, row, scales, input_scale, bias, accumulate, y);
}

// One vector: four panels at a time (eight chains of dependent `vpdpbusd`s, enough to keep both
// of its ports busy), then the rest one at a time.
VNNI_TARGET static void int4_rows_vnni(const int8_t *x, int32_t x_sum, const uint8_t *w, long stride, long first,
                                       long last, const float *scales, float input_scale, const float *bias,
                                       int accumulate, float *y) {
    if (first >= last) return;
    const __m512i mask = _mm512_set1_epi8(0x0F);
    const long groups = stride / 8, end = (last + 15) / 16;
    long panel = first / 16;
    for (; panel + 4 <= end; panel += 4) {
        const uint8_t *w0 = w + panel * groups * 64, *w1 = w0 + groups * 64, *w2 = w1 + groups * 64,
                      *w3 = w2 + groups * 64;
        __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        for (long g = 0; g < groups; g++) {
            const __m512i lo = four_bytes(x, 8 * g), hi = four_bytes(x, 8 * g + 4);
            __m512i v = _mm512_loadu_si512((const void *)(w0 + g * 64));
            a0 = _mm512_dpbusd_epi32(a0, low_nibbles(v, mask), lo);
            b0 = _mm512_dpbusd_epi32(b0, high_nibbles(v, mask), hi);
            v = _mm512_loadu_si512((const void *)(w1 + g * 64));
            a1 = _mm512_dpbusd_epi32(a1, low_nibbles(v, mask), lo);
            b1 = _mm512_dpbusd_epi32(b1, high_nibbles(v, mask), hi);
            v = _mm512_loadu_si512((const void *)(w2 + g * 64));
            a2 = _mm512_dpbusd_epi32(a2, low_nibbles(v, mask), lo);
            b2 = _mm512_dpbusd_epi32(b2, high_nibbles(v, mask), hi);
            v = _mm512_loadu_si512((const void *)(w3 + g * 64));
            a3 = _mm512_dpbusd_epi32(a3, low_nibbles(v, mask), lo);
            b3 = _mm512_dpbusd_epi32(b3, high_nibbles(v, mask), hi);
        }
        int4_store_panel(_mm512_add_epi32(a0, b0), x_sum, panel, first, last, scales, input_scale, bias, accumulate, y);
        int4_store_panel(_mm512_add_epi32(a1, b1), x_sum, panel + 1, first, last, scales, input_scale, bias,
                         accumulate, y);
        int4_store_panel(_mm512_add_epi32(a2, b2), x_sum, panel + 2, first, last, scales, input_scale, bias,
                         accumulate, y);
        int4_store_panel(_mm512_add_epi32(a3, b3), x_sum, panel + 3, first, last, scales, input_scale, bias,
                         accumulate, y);
    }
    for (; panel < end; panel++) {
        const uint8_t *w0 = w + panel * groups * 64;
        __m512i a = _mm512_setzero_si512(), b = a;
        for (long g = 0; g < groups; g++) {
            const __m512i v = _mm512_loadu_si512((const void *)(w0 + g * 64));
            a = _mm512_dpbusd_epi32(a, low_nibbles(v, mask), four_bytes(x, 8 * g));
            b = _mm512_dpbusd_epi32(b, high_nibbles(v, mask), four_bytes(x, 8 * g + 4));
        }
        int4_store_panel(_mm512_add_epi32(a, b), x_sum, panel, first, last, scales, input_scale, bias, accumulate, y);
    }
}

// Many vectors: four vectors against four panels at a time, then two, each panel's load unpacked
// once for the four vectors (four panels give each unpacking and each broadcast input more
// multiply-adds); remaining panels and vectors through the one-vector kernel. The dot products are
// exact integers, the same whatever the grouping, and are finished by the same operations: every
// output is the one-vector kernel's number.
VNNI_TARGET static void int4_many_vnni(const int8_t *x, long x_stride, const int32_t *x_sums,
                                       const float *input_scales, long n, const uint8_t *w, long stride, long first,
                                       long last, const float *scales, const float *bias, int accumulate, float *y,
                                       long y_stride) {
    if (first >= last) return;
    const __m512i mask = _mm512_set1_epi8(0x0F);
    const long groups = stride / 8, begin = first / 16, end = (last + 15) / 16;
    long i = 0;
    for (; i + 4 <= n; i += 4) {
        const int8_t *x0 = x + i * x_stride, *x1 = x0 + x_stride, *x2 = x1 + x_stride, *x3 = x2 + x_stride;
        long panel = begin;
        for (; panel + 4 <= end; panel += 4) {
            const uint8_t *w0 = w + panel * groups * 64, *w1 = w0 + groups * 64, *w2 = w1 + groups * 64,
                          *w3 = w2 + groups * 64;
            __m512i a[4][4];
            for (int q = 0; q < 4; q++) a[q][0] = a[q][1] = a[q][2] = a[q][3] = _mm512_setzero_si512();
            for (long g = 0; g < groups; g++) {
                const __m512i v0 = _mm512_loadu_si512((const void *)(w0 + g * 64));
                const __m512i v1 = _mm512_loadu_si512((const void *)(w1 + g * 64));
                const __m512i v2 = _mm512_loadu_si512((const void *)(w2 + g * 64));
                const __m512i v3 = _mm512_loadu_si512((const void *)(w3 + g * 64));
                const __m512i l0 = low_nibbles(v0, mask), h0 = high_nibbles(v0, mask);
                const __m512i l1 = low_nibbles(v1, mask), h1 = high_nibbles(v1, mask);
                const __m512i l2 = low_nibbles(v2, mask), h2 = high_nibbles(v2, mask);
                const __m512i l3 = low_nibbles(v3, mask), h3 = high_nibbles(v3, mask);
                const int8_t *xs[4] = {x0, x1, x2, x3};
                for (int k = 0; k < 4; k++) {
                    const __m512i lo = four_bytes(xs[k], 8 * g), hi = four_bytes(xs[k], 8 * g + 4);
                    a[0][k] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(a[0][k], l0, lo), h0, hi);
                    a[1][k] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(a[1][k], l1, lo), h1, hi);
                    a[2][k] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(a[2][k], l2, lo), h2, hi);
                    a[3][k] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(a[3][k], l3, lo), h3, hi);
                }
            }
            for (int q = 0; q < 4; q++) {
                for (int k = 0; k < 4; k++) {
                    int4_store_panel(a[q][k], x_sums[i + k], panel + q, first, last, scales, input_scales[i + k],
                                     bias, accumulate, y + (i + k) * y_stride);
                }
            }
        }
        for (; panel + 2 <= end; panel += 2) {
            const uint8_t *w0 = w + panel * groups * 64, *w1 = w0 + groups * 64;
            __m512i a00 = _mm512_setzero_si512(), a01 = a00, a02 = a00, a03 = a00;
            __m512i a10 = a00, a11 = a00, a12 = a00, a13 = a00;
            for (long g = 0; g < groups; g++) {
                const __m512i v0 = _mm512_loadu_si512((const void *)(w0 + g * 64));
                const __m512i v1 = _mm512_loadu_si512((const void *)(w1 + g * 64));
                const __m512i l0 = low_nibbles(v0, mask), h0 = high_nibbles(v0, mask);
                const __m512i l1 = low_nibbles(v1, mask), h1 = high_nibbles(v1, mask);
#define CADENZA_INT4_VECTOR(xi, c0, c1)                                                                                \
    {                                                                                                                  \
        const __m512i lo = four_bytes(xi, 8 * g), hi = four_bytes(xi, 8 * g + 4);                                      \
        c0 = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(c0, l0, lo), h0, hi);                                             \
        c1 = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(c1, l1, lo), h1, hi);                                             \
    }
                CADENZA_INT4_VECTOR(x0, a00, a10)
                CADENZA_INT4_VECTOR(x1, a01, a11)
                CADENZA_INT4_VECTOR(x2, a02, a12)
                CADENZA_INT4_VECTOR(x3, a03, a13)
#undef CADENZA_INT4_VECTOR
            }
            const __m512i dots[2][4] = {{a00, a01, a02, a03}, {a10, a11, a12, a13}};
            for (int q = 0; q < 2; q++) {
                for (int k = 0; k < 4; k++) {
                    int4_store_panel(dots[q][k], x_sums[i + k], panel + q, first, last, scales, input_scales[i + k],
                                     bias, accumulate, y + (i + k) * y_stride);
                }
            }
        }
        if (panel < end) {
            const long from = panel * 16 > first ? panel * 16 : first;
            for (int k = 0; k < 4; k++) {
                int4_rows_vnni(x + (i + k) * x_stride, x_sums[i + k], w, stride, from, last, scales,
                               input_scales[i + k], bias, accumulate, y + (i + k) * y_stride);
            }
        }
    }
    for (; i < n; i++) {
        int4_rows_vnni(x + i * x_stride, x_sums[i], w, stride, first, last, scales, input_scales[i], bias, accumulate,
                       y + i * y_stride);
    }
}

int cadenza_int8_rows_use_vnni(void) {
    static int has = -1;
    if (has < 0) {
        __builtin_cpu_init();
        has = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw") &&
              __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    }
    return has;
}

#else

int cadenza_int8_rows_use_vnni(void) { return 0; }

#endif

// Each product runs the fastest kernel the CPU has: AVX-512 VNNI, then AVX2 (DecoderAVX2.c), then
// the plain loop, all with the same numbers.

void cadenza_int8_rows_many(const int16_t *x, long x_stride, const float *input_scales, long n, const int8_t *w,
                            long stride, long first, long last, const float *scales, const float *bias,
                            int accumulate, float *y, long y_stride) {
#if defined(__x86_64__)
    if (cadenza_int8_rows_use_vnni()) {
        many_vnni(x, x_stride, input_scales, n, w, stride, first, last, scales, bias, accumulate, y, y_stride);
        return;
    }
#endif
    if (cadenza_cpu_has_avx2()) {
        cadenza_int8_rows_many_avx2(x, x_stride, input_scales, n, w, stride, first, last, scales, bias, accumulate, y,
                                    y_stride);
    } else {
        cadenza_int8_rows_many_portable(x, x_stride, input_scales, n, w, stride, first, last, scales, bias,
                                        accumulate, y, y_stride);
    }
}

void cadenza_int8_rows(const int16_t *x, const int8_t *w, long stride, long first, long last, const float *scales,
                       float input_scale, const float *bias, int accumulate, float *y) {
#if defined(__x86_64__)
    if (cadenza_int8_rows_use_vnni()) {
        rows_vnni(x, w, stride, first, last, scales, input_scale, bias, accumulate, y);
        return;
    }
#endif
    if (cadenza_cpu_has_avx2()) {
        cadenza_int8_rows_avx2(x, w, stride, first, last, scales, input_scale, bias, accumulate, y);
    } else {
        cadenza_int8_rows_portable(x, w, stride, first, last, scales, input_scale, bias, accumulate, y);
    }
}

void cadenza_int4_rows(const int8_t *x, int32_t x_sum, const uint8_t *w, long stride, long first, long last,
                       const float *scales, float input_scale, const float *bias, int accumulate, float *y) {
#if defined(__x86_64__)
    if (cadenza_int8_rows_use_vnni()) {
        int4_rows_vnni(x, x_sum, w, stride, first, last, scales, input_scale, bias, accumulate, y);
        return;
    }
#endif
    if (cadenza_cpu_has_avx2()) {
        cadenza_int4_rows_avx2(x, x_sum, w, stride, first, last, scales, input_scale, bias, accumulate, y);
    } else {
        cadenza_int4_rows_portable(x, x_sum, w, stride, first, last, scales, input_scale, bias, accumulate, y);
    }
}

void cadenza_int4_rows_many(const int8_t *x, long x_stride, const int32_t *x_sums, const float *input_scales, long n,
                            const uint8_t *w, long stride, long first, long last, const float *scales,
                            const float *bias, int accumulate, float *y, long y_stride) {
#if defined(__x86_64__)
    if (cadenza_int8_rows_use_vnni()) {
        int4_many_vnni(x, x_stride, x_sums, input_scales, n, w, stride, first, last, scales, bias, accumulate, y,
                       y_stride);
        return;
    }
#endif
    if (cadenza_cpu_has_avx2()) {
        cadenza_int4_rows_many_avx2(x, x_stride, x_sums, input_scales, n, w, stride, first, last, scales, bias,
                                    accumulate, y, y_stride);
    } else {
        cadenza_int4_rows_many_portable(x, x_stride, x_sums, input_scales, n, w, stride, first, last, scales, bias,
                                        accumulate, y, y_stride);
    }
}

// In C because Swift's `SIMD.max()` stays a call to a scalar loop that checks every lane for
// NaN, and a lane-wise "take where greater" on `SIMD16<Float>` compiled to 128-bit pieces; here
// the lane loop is one `vmaxps` (whose "the second operand unless the first is greater" is
// exactly the comparison), and the lanes are then folded in Swift's order.
float cadenza_largest(const float *p, long n) {
    float m = -__builtin_inff();
    long i = 0;
    if (n >= 16) {
        float lanes[16];
        for (int l = 0; l < 16; l++) lanes[l] = -__builtin_inff();
        for (; i + 16 <= n; i += 16) {
            for (int l = 0; l < 16; l++) lanes[l] = p[i + l] > lanes[l] ? p[i + l] : lanes[l];
        }
        m = lanes[0];
        for (int l = 1; l < 16; l++) m = lanes[l] >= m ? lanes[l] : m;
    }
    for (; i < n; i++) m = p[i] >= m ? p[i] : m;
    return m;
}

// The four arrays are distinct tensors (`restrict`) and the square root is the instruction's
// (no errno to set: v is never negative), so the loop compiles to vector arithmetic.
void cadenza_adam(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, long count,
                  float step_size, float inverse_root_correction2, float beta1, float beta2, float epsilon,
                  float decoupled_decay, float l2_decay) {
#pragma clang fp contract(off)
    float one_minus_beta1 = 1 - beta1, one_minus_beta2 = 1 - beta2;
    for (long i = 0; i < count; i++) {
        float grad = g[i], value = p[i];
        if (l2_decay != 0) grad += l2_decay * value;
        if (decoupled_decay != 0) value *= decoupled_decay;
        float mi = beta1 * m[i] + one_minus_beta1 * grad;
        float vi = beta2 * v[i] + one_minus_beta2 * grad * grad;
        m[i] = mi;
        v[i] = vi;
        float denominator = __builtin_elementwise_sqrt(vi) * inverse_root_correction2 + epsilon;
        p[i] = value - step_size * mi / denominator;
    }
}

// x * inverse to the nearest integer, ties to even, as Swift's `roundedToIntegers` rounds it: the
// product rounded to float32, then 1.5 * 2^23 added, which leaves the integer in the low mantissa
// bits. Two roundings: contracting them into one fused multiply-add would change the integers.
static inline int32_t rounded_level(float x, float inverse) {
#pragma clang fp contract(off)
    const float shifted = x * inverse + 12582912.0f;
    int32_t bits;
    __builtin_memcpy(&bits, &shifted, sizeof bits);
    return bits - 0x4B400000;
}

// One loop each way, which the compiler vectorises for the build's CPU; Swift's 16-lane
// conversions to 8 and 16 bits compiled to 128-bit pieces and permutes.
int32_t cadenza_round_inputs(const float *x, long n, float inverse, int narrow, void *out) {
    uint32_t sum = 0;
    if (narrow) {
        int8_t *o = out;
        for (long i = 0; i < n; i++) {
            const int32_t q = rounded_level(x[i], inverse);
            o[i] = (int8_t)q;
            sum += (uint32_t)q;
        }
    } else {
        int16_t *o = out;
        for (long i = 0; i < n; i++) {
            const int32_t q = rounded_level(x[i], inverse);
            o[i] = (int16_t)q;
            sum += (uint32_t)q;
        }
    }
    return (int32_t)sum;
}
