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

// `x * scale` rounded to float16, to nearest with ties to even, as its bits (`Float16GEMM`).
static inline uint16_t f16_bits(float x, float scale) {
    _Float16 h = (_Float16)(x * scale);
    uint16_t bits;
    memcpy(&bits, &h, 2);
    return bits;
}

// One operand value in the packed format: bfloat16 of x (format 0) or float16 of x * scale
// (format 1; `scale`: the lane's, see `cadenza_f16_lane_scales`).
static inline uint32_t round16(float x, int format, float scale) {
    return format == 0 ? cadenza_bf16_round(x) : f16_bits(x, scale);
}

// Rounds `count` floats to 16-bit pairs: out[p] = (x[2p], x[2p + 1]) as one 32-bit word, low
// half first; an odd count ends with (x[count - 1], 0). On a little-endian CPU (every one this
// builds for) the pairs are the 16-bit values in order, so each is stored where it falls: a loop
// the compiler turns into whole-vector conversions, with no shuffling of evens and odds.
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "round_adjacent stores pairs as 16-bit values in order");
static inline void round_adjacent(const float *x, long count, uint32_t *out, int format, float scale) {
    uint16_t *halves = (uint16_t *)(void *)out;
    for (long j = 0; j < count; j++) halves[j] = (uint16_t)round16(x[j], format, scale);
    if (count & 1) halves[count] = 0;
}

// Pairs from two rows: out[j] = (x0[j], x1[j]); x1 may be NULL (zeros).
// Lane j's values are scaled by scales[j] (format 1).
static inline void round_interleaved(const float *x0, const float *x1, long count, uint32_t *out, int format,
                                     const float *scales) {
    if (!x1) {
        for (long j = 0; j < count; j++) out[j] = round16(x0[j], format, format ? scales[j] : 1);
        return;
    }
    for (long j = 0; j < count; j++) {
        float scale = format ? scales[j] : 1;
        out[j] = round16(x0[j], format, scale) | (round16(x1[j], format, scale) << 16);
    }
}

#if defined(__AVX2__)
#include <immintrin.h>

// The 8 x 8 block of 32-bit words rows[r][c] (r, c < 8), transposed: out[c * stride + r] for c < 8
// and r < `columns`, which is 8 or 4 (a panel of 12 lanes ends with a group of 4).
static inline void transpose8(const __m256i rows[8], uint32_t *out, long stride, long columns) {
    __m256i a0 = _mm256_unpacklo_epi32(rows[0], rows[1]), a1 = _mm256_unpackhi_epi32(rows[0], rows[1]);
    __m256i a2 = _mm256_unpacklo_epi32(rows[2], rows[3]), a3 = _mm256_unpackhi_epi32(rows[2], rows[3]);
    __m256i a4 = _mm256_unpacklo_epi32(rows[4], rows[5]), a5 = _mm256_unpackhi_epi32(rows[4], rows[5]);
    __m256i a6 = _mm256_unpacklo_epi32(rows[6], rows[7]), a7 = _mm256_unpackhi_epi32(rows[6], rows[7]);
    __m256i b0 = _mm256_unpacklo_epi64(a0, a2), b1 = _mm256_unpackhi_epi64(a0, a2);
    __m256i b2 = _mm256_unpacklo_epi64(a1, a3), b3 = _mm256_unpackhi_epi64(a1, a3);
    __m256i b4 = _mm256_unpacklo_epi64(a4, a6), b5 = _mm256_unpackhi_epi64(a4, a6);
    __m256i b6 = _mm256_unpacklo_epi64(a5, a7), b7 = _mm256_unpackhi_epi64(a5, a7);
    __m256i t[8] = {
        _mm256_permute2x128_si256(b0, b4, 0x20), _mm256_permute2x128_si256(b1, b5, 0x20),
        _mm256_permute2x128_si256(b2, b6, 0x20), _mm256_permute2x128_si256(b3, b7, 0x20),
        _mm256_permute2x128_si256(b0, b4, 0x31), _mm256_permute2x128_si256(b1, b5, 0x31),
        _mm256_permute2x128_si256(b2, b6, 0x31), _mm256_permute2x128_si256(b3, b7, 0x31),
    };
    for (int c = 0; c < 8; c++) {
        if (columns == 8) {
            _mm256_storeu_si256((__m256i *)(void *)(out + c * stride), t[c]);
        } else {
            _mm_storeu_si128((__m128i *)(void *)(out + c * stride), _mm256_castsi256_si128(t[c]));
        }
    }
}
#endif

// destination[c * rows + r] = source[r * source_stride + c] (Tensor's `HeadProduct.transpose`:
// attention's per-head kᵀ, vᵀ and reversed rᵀ, whose source rows lie a projection's width
// apart), in 8 x 8 register transposes where the CPU has AVX2: a float at a time, each
// destination row took its values from 16 source lines.
// `source_stride` may be negative (rows read in reverse).
void cadenza_transpose_floats(const float *source, long source_stride, long rows, long columns, float *destination) {
    long r0 = 0;
#if defined(__AVX2__)
    for (; r0 + 8 <= rows; r0 += 8) {
        long c0 = 0;
        for (; c0 + 8 <= columns; c0 += 8) {
            __m256i lines[8];
            for (int r = 0; r < 8; r++) {
                lines[r] = _mm256_loadu_si256((const __m256i *)(const void *)(source + (r0 + r) * source_stride + c0));
            }
            transpose8(lines, (uint32_t *)(void *)(destination + c0 * rows + r0), rows, 8);
        }
        for (; c0 < columns; c0++) {
            for (long r = r0; r < r0 + 8; r++) destination[c0 * rows + r] = source[r * source_stride + c0];
        }
    }
#endif
    for (; r0 < rows; r0++) {
        for (long c = 0; c < columns; c++) destination[c * rows + r0] = source[r0 * source_stride + c];
    }
}

// Deals `lanes` lines of k2 words (lane l's at lines + l * k2) out to a panel of `width` lanes,
// step by step: panel[kk * width + l] = lines[l * k2 + kk], zeros for lanes from `lanes` on. In
// 8 x 8 blocks of registers where the CPU has AVX2 (one word at a time, the stores land `width`
// words apart, which made this a large share of packing).
static inline void deal_lines(const uint32_t *lines, long k2, long lanes, long width, uint32_t *panel) {
    long kk = 0;
#if defined(__AVX2__)
    if (width % 4 == 0) {
        for (; kk + 8 <= k2; kk += 8) {
            for (long g = 0; g < width; g += 8) {
                __m256i rows[8];
                for (int r = 0; r < 8; r++) {
                    long l = g + r;
                    rows[r] = l < lanes ? _mm256_loadu_si256((const __m256i *)(const void *)(lines + l * k2 + kk))
                                        : _mm256_setzero_si256();
                }
                transpose8(rows, panel + kk * width + g, width, width - g < 8 ? width - g : 8);
            }
        }
    }
#endif
    for (; kk < k2; kk++) {
        for (long l = 0; l < width; l++) panel[kk * width + l] = l < lanes ? lines[l * k2 + kk] : 0;
    }
}

// Packs lanes (rows of op(A), columns of op(B)) into panels of `width` lanes: step kk of a panel
// holds, for each lane, the pair of its values at depth 2kk and 2kk + 1; zeros beyond `count`
// lanes and `depth`. A lane's values are contiguous in `x` (lane l at x + l * ld) when
// `adjacent`, else each depth is a contiguous row of lanes (depth d at x + d * ld). Values are
// rounded to bfloat16 (format 0) or, times their lane's scale, to float16 (format 1; the scales
// and their inverses are found here and written to `scales[lane]` and `inverses[lane]`).
// Inlined into one function per format (below), so that each rounding loop is compiled for its
// format alone.
static inline __attribute__((always_inline)) void pack(long width, long count, long depth, const float *x, long ld,
                                                       int adjacent, uint32_t *out, long first_panel,
                                                       long last_panel, int format, float *scales, float *inverses,
                                                       float *sums) {
    long k2 = (depth + 1) / 2;
    if (adjacent) {
        // Each lane is scaled and rounded into its own line while its values are in cache (read
        // once from memory), then the panel is written step by step from the lines.
        uint32_t *lines = malloc(sizeof(uint32_t) * (size_t)(width * (k2 > 0 ? k2 : 1)));
        if (!lines) return;
        for (long p = first_panel; p < last_panel; p++) {
            uint32_t *panel = out + p * k2 * width;
            long lanes = count - p * width < width ? count - p * width : width;
            for (long l = 0; l < lanes; l++) {
                long lane = p * width + l;
                if (format)
                    cadenza_f16_lane_scales(1, depth, x + lane * ld, ld, 1, scales + lane, inverses + lane,
                                            sums ? sums + lane : 0);
                round_adjacent(x + lane * ld, depth, lines + l * k2, format, format ? scales[lane] : 1);
            }
            deal_lines(lines, k2, lanes, width, panel);
        }
        free(lines);
        return;
    }
    // Each depth pair is rounded across all of this call's lanes at once, then dealt out to the
    // panels in runs of `width`: a loop per panel would run over only `width` lanes (12 for A),
    // too few to vectorise, which made packing a large share of the weight gradients' products.
    // (Float16's scales are found first in a pass of their own; doing both passes block by block,
    // so that the second read hits the cache, measured no faster in training.)
    long first = first_panel * width, lanes = (count < last_panel * width ? count : last_panel * width) - first;
    if (lanes <= 0) return;
    if (format)
        cadenza_f16_lane_scales(lanes, depth, x + first, ld, 0, scales + first, inverses + first,
                                sums ? sums + first : 0);
    // Four steps at a time, so that each panel receives four consecutive steps, whole cache lines
    // (one step of a 12-lane panel is 48 bytes, which left lines part-written).
    enum { STEPS = 4 };
    long padded = (last_panel - first_panel) * width;
    uint32_t *line = calloc((size_t)(STEPS * padded), sizeof(uint32_t));
    if (!line) return;
    for (long k0 = 0; k0 < k2; k0 += STEPS) {
        long steps = k2 - k0 < STEPS ? k2 - k0 : STEPS;
        for (long s = 0; s < steps; s++) {
            long kk = k0 + s;
            const float *r0 = x + 2 * kk * ld + first;
            round_interleaved(r0, 2 * kk + 1 < depth ? r0 + ld : 0, lanes, line + s * padded, format,
                              format ? scales + first : 0);
        }
        for (long p = first_panel; p < last_panel; p++) {
            uint32_t *to = out + (p * k2 + k0) * width;
            const uint32_t *from = line + (p - first_panel) * width;
            for (long s = 0; s < steps; s++) {
                // Copies of a size known here (inlined): a call per run of 12 or 32 words cost
                // more than the copy.
                if (width == 32) {
                    memcpy(to + s * width, from + s * padded, 32 * sizeof(uint32_t));
                } else if (width == 12) {
                    memcpy(to + s * width, from + s * padded, 12 * sizeof(uint32_t));
                } else {
                    memcpy(to + s * width, from + s * padded, (size_t)width * sizeof(uint32_t));
                }
            }
        }
    }
    free(line);
}

// `pack` for each format, cloned for AVX-512, AVX2 and plain x86-64, the loader picking the CPU's
// best (the rounding loops vectorise), so the build stays generic.
#if defined(__x86_64__) && defined(__ELF__)
__attribute__((target_clones("avx512bw", "avx2", "default")))
#endif
static void pack_bf16(long width, long count, long depth, const float *x, long ld, int adjacent, uint32_t *out,
                      long first_panel, long last_panel) {
    pack(width, count, depth, x, ld, adjacent, out, first_panel, last_panel, 0, 0, 0, 0);
}

#if defined(__x86_64__) && defined(__ELF__)
__attribute__((target_clones("avx512bw", "avx2", "default")))
#endif
static void pack_f16(long width, long count, long depth, const float *x, long ld, int adjacent, uint32_t *out,
                     long first_panel, long last_panel, float *scales, float *inverses, float *sums) {
    pack(width, count, depth, x, ld, adjacent, out, first_panel, last_panel, 1, scales, inverses, sums);
}

// op(B) [k, n]: a column of op(B) is a row of B as stored when transposed.
void cadenza_bf16_pack_b(long k, long n, const float *b, long ldb, int transposed, uint16_t *out,
                         long first_panel, long last_panel) {
    pack_bf16(32, n, k, b, ldb, transposed, (uint32_t *)out, first_panel, last_panel);
}

// op(A) [m, k]: a row of op(A) is a row of A as stored unless transposed.
void cadenza_bf16_pack_a(long m, long k, const float *a, long lda, int transposed, uint16_t *out,
                         long first_panel, long last_panel) {
    pack_bf16(12, m, k, a, lda, !transposed, (uint32_t *)out, first_panel, last_panel);
}

void cadenza_f16_pack_b(long k, long n, const float *b, long ldb, int transposed, float *scales, float *inverses,
                        float *sums, uint16_t *out, long first_panel, long last_panel) {
    pack_f16(32, n, k, b, ldb, transposed, (uint32_t *)out, first_panel, last_panel, scales, inverses, sums);
}

void cadenza_f16_pack_a(long m, long k, const float *a, long lda, int transposed, float *scales, float *inverses,
                        float *sums, uint16_t *out, long first_panel, long last_panel) {
    pack_f16(12, m, k, a, lda, !transposed, (uint32_t *)out, first_panel, last_panel, scales, inverses, sums);
}

// C[i][j] = alpha * tile + beta * C (C not read when beta is 0), for the valid part of a tile.
// Two roundings, never a fused multiply-add (separate statements are not contracted), as the
// tests' reference rounds.
static void store_tile(const float *tile, long rows, long columns, float *c, long ldc, float alpha, float beta,
                       const float *bias, int rectified) {
    for (long i = 0; i < rows; i++) {
        for (long j = 0; j < columns; j++) {
            float v = alpha * tile[i * 32 + j];
            if (beta != 0) {
                float old = beta * c[i * ldc + j];
                v += old;
            }
            if (bias) v += bias[j];
            if (rectified) v = v >= 0 ? v : 0;  // Swift's max(0, v): -0 stays -0, NaN becomes 0
            c[i * ldc + j] = v;
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
    static int has = -1;  // asked once: every product checks it
    if (has < 0) {
        __builtin_cpu_init();
        has = __builtin_cpu_supports("avx512bf16") != 0;
    }
    return has;
}
#else
static void tile_avx512bf16(const uint16_t *pa, const uint16_t *pb, long k2, float *tile) {
    tile_plain(pa, pb, k2, tile);
}
int cadenza_cpu_has_avx512bf16(void) { return 0; }
#endif

int cadenza_cpu_has_avx512f(void) {
#if defined(__x86_64__)
    static int has = -1;
    if (has < 0) {
        __builtin_cpu_init();
        has = __builtin_cpu_supports("avx512f") != 0;
    }
    return has;
#else
    return 0;
#endif
}

void cadenza_packed_tiles(cadenza_tile_function tile_function, const uint16_t *packed_a, const uint16_t *packed_b,
                          long m, long n, long k, long first_row_panel, long last_row_panel,
                          const float *row_inverses, const float *column_inverses, float *c, long ldc, float alpha,
                          float beta, const float *bias, int rectified) {
    long k2 = (k + 1) / 2, column_panels = (n + 31) / 32;
    float tile[12 * 32];
    // Along each row panel in turn: the tiles then continue the same 12 rows of C, which the
    // hardware fetches ahead as it does any run of addresses (down a column of tiles, the rows of
    // C that a tile adds to were fetched only when read); A's panel stays in the first-level
    // cache and B's panels stream from the second.
    for (long q = first_row_panel; q < last_row_panel; q++) {
        for (long p = 0; p < column_panels; p++) {
            const uint16_t *pb = packed_b + p * k2 * 64;
            tile_function(packed_a + q * k2 * 24, pb, k2, tile);
            long rows = m - q * 12 < 12 ? m - q * 12 : 12, columns = n - p * 32 < 32 ? n - p * 32 : 32;
            if (row_inverses) {
                for (long i = 0; i < rows; i++) {
                    float row = row_inverses[q * 12 + i];
                    for (long j = 0; j < columns; j++) tile[i * 32 + j] = tile[i * 32 + j] * row * column_inverses[p * 32 + j];
                }
            }
            store_tile(tile, rows, columns, c + q * 12 * ldc + p * 32, ldc, alpha, beta, bias ? bias + p * 32 : 0,
                       rectified);
        }
    }
}

void cadenza_bf16_gemm_packed(const uint16_t *packed_a, const uint16_t *packed_b, long m, long n, long k,
                              long first_row_panel, long last_row_panel, float *c, long ldc, float alpha,
                              float beta, const float *bias, int rectified, int path) {
    cadenza_packed_tiles(path == 1 ? tile_avx512bf16 : tile_plain, packed_a, packed_b, m, n, k, first_row_panel,
                         last_row_panel, 0, 0, c, ldc, alpha, beta, bias, rectified);
}
