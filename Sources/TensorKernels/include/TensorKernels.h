#ifndef CADENZA_TENSOR_KERNELS_H
#define CADENZA_TENSOR_KERNELS_H

#include <stdint.h>

/// Batch-1 decoding with 8-bit weights (Tensor's `DecoderMatrix`, precision int8): for every row
/// j in first ..< last, the exact integer sum s_j = sum over p < stride of x[p] * w[j * stride + p]
/// (in sixteen 32-bit lanes, then the lanes added in 64 bits, or in 32 where stride <= 512 keeps
/// every total below 2^31 with the bounds below), then
///     v_j = float(s_j) * (scales[j] * input_scale) + bias[j]    (+ 0 where `bias` is NULL),
/// each operation rounded to float on its own (never fused), and y[j] = v_j, or y[j] += v_j when
/// `accumulate` is nonzero. `y`, `scales` and `bias` are indexed by j itself.
///
/// `stride` is a multiple of 32, and `x` and every row are zero-padded to it. Every |w| <= 127,
/// and the caller keeps every |x[p]| small enough that no lane can overflow (`DecoderMatrix`
/// does: |x| <= 32767 and |w| <= 127 give at most 4.2e6 per product, and each lane adds
/// stride / 16 of them).
///
/// Why C: AVX-512 VNNI's `vpdpwssd` multiplies 32 pairs of 16-bit integers and adds them into
/// 16 32-bit sums in one instruction; Swift's SIMD types have no way to ask for it, and the
/// float16 path it replaces is bound by `vcvtph2ps` (16 weights per 2 cycles). The scaling is
/// here too, four rows to a vector, so that the sums never leave registers as integers. Without
/// VNNI (another CPU, found at run time) the same numbers come from AVX2's `vpmaddwd`
/// (`cadenza_int8_rows_avx2`), or from a plain loop on a CPU without AVX2.
void cadenza_int8_rows(const int16_t *x, const int8_t *w, long stride, long first, long last, const float *scales,
                       float input_scale, const float *bias, int accumulate, float *y);

/// `cadenza_int8_rows` for `n` input vectors at once: vector i is `x + i * x_stride` (zero-padded
/// to `stride`) with scale `input_scales[i]`, and its outputs go to `y + i * y_stride`, indexed by
/// j as there. Every output is the number `cadenza_int8_rows` gives for that vector alone (the
/// integer sums are exact whatever their order, and the scaling is the same operations), so a
/// batch read of a context equals reading its tokens one at a time. For a context of many tokens
/// the product is bound by the multiply-adds rather than by streaming the weights, so the VNNI
/// path splits each input into two bytes and multiplies them by the weights with `vpdpbusd`
/// (twice `vpdpwssd`'s products per instruction, and no widening), 16 rows to a vector's lanes,
/// each panel of rows serving every vector (TensorKernels.c).
void cadenza_int8_rows_many(const int16_t *x, long x_stride, const float *input_scales, long n, const int8_t *w,
                            long stride, long first, long last, const float *scales, const float *bias,
                            int accumulate, float *y, long y_stride);

/// The plain loop `cadenza_int8_rows_many` runs without AVX-512 VNNI or AVX2:
/// `cadenza_int8_rows_portable` per vector.
void cadenza_int8_rows_many_portable(const int16_t *x, long x_stride, const float *input_scales, long n,
                                     const int8_t *w, long stride, long first, long last, const float *scales,
                                     const float *bias, int accumulate, float *y, long y_stride);

/// 1 when `cadenza_int8_rows` runs AVX-512 VNNI on this CPU (checked at run time), 0 when it
/// runs the AVX2 kernels or the plain loop.
int cadenza_int8_rows_use_vnni(void);

/// The same outputs from a plain loop: what `cadenza_int8_rows` runs on CPUs without AVX-512
/// VNNI or AVX2, and the reference the tests hold the other paths to, bit for bit.
void cadenza_int8_rows_portable(const int16_t *x, const int8_t *w, long stride, long first, long last,
                                const float *scales, float input_scale, const float *bias, int accumulate,
                                float *y);

/// Batch-1 decoding with 4-bit weights (Tensor's `DecoderMatrix`, precision int4). Each weight is
/// an unsigned u in 0...15 standing for the odd level 2u - 15 (16 levels, symmetric about zero,
/// none at zero), stored in panels of 16 rows (rows past the matrix's last are zero): for panel
/// P (rows 16P ..< 16P + 16) and group g of 8 inputs, the 64 bytes at (P * stride / 8 + g) * 64
/// hold in byte 4r + b the weight of row 16P + r at input 8g + b in the low nibble and at input
/// 8g + 4 + b in the high one (b < 4): each 32-bit lane holds one row's four inputs. x holds
/// `stride` signed bytes (zero-padded) whose sum is `x_sum`, each small enough that
/// 15 * |x| * stride < 2^31 (|x| <= 127 allows any stride up to 2^20; `DecoderMatrix` lowers its
/// levels beyond). Then
///     s_j = 2 * (sum over p of u[j, p] * x[p]) - 15 * x_sum,  exactly (64 bits),
/// and v_j and y[j] as `cadenza_int8_rows` makes them from s_j (`scales[j]` is half the step
/// between two levels of row j). `stride` is a multiple of 8; rows outside first ..< last are
/// neither read from y nor written.
///
/// Why: half int8's bytes per weight, so twice the weights stay in a core's caches, and AVX-512
/// VNNI's `vpdpbusd` multiplies 64 unsigned-by-signed byte pairs per instruction with no
/// widening (int8's weights are widened to 16 bits for `vpdpwssd`).
void cadenza_int4_rows(const int8_t *x, int32_t x_sum, const uint8_t *w, long stride, long first, long last,
                       const float *scales, float input_scale, const float *bias, int accumulate, float *y);

/// `cadenza_int4_rows` for `n` vectors at once (vector i at `x + i * x_stride`, sum `x_sums[i]`,
/// scale `input_scales[i]`, outputs at `y + i * y_stride`): each output is the one-vector
/// number, so a batch read of a context equals reading its tokens one at a time.
void cadenza_int4_rows_many(const int8_t *x, long x_stride, const int32_t *x_sums, const float *input_scales, long n,
                            const uint8_t *w, long stride, long first, long last, const float *scales,
                            const float *bias, int accumulate, float *y, long y_stride);

/// The plain loops the two int4 functions run without AVX-512 VNNI or AVX2 (the same checks as
/// int8's), and the reference the tests hold the other paths to, bit for bit.
void cadenza_int4_rows_portable(const int8_t *x, int32_t x_sum, const uint8_t *w, long stride, long first, long last,
                                const float *scales, float input_scale, const float *bias, int accumulate,
                                float *y);
void cadenza_int4_rows_many_portable(const int8_t *x, long x_stride, const int32_t *x_sums, const float *input_scales,
                                     long n, const uint8_t *w, long stride, long first, long last,
                                     const float *scales, const float *bias, int accumulate, float *y, long y_stride);

/// The four integer kernels above as they run on a CPU with AVX2 but not AVX-512 VNNI (which the
/// functions above choose at run time): `vpmaddwd` for int8, `vpmaddubsw` for int4, the same
/// numbers to the bit (DecoderAVX2.c). Callable only where `cadenza_cpu_has_avx2` says 1; the
/// tests hold them to the plain loops on every CPU that has it.
void cadenza_int8_rows_avx2(const int16_t *x, const int8_t *w, long stride, long first, long last,
                            const float *scales, float input_scale, const float *bias, int accumulate, float *y);
void cadenza_int8_rows_many_avx2(const int16_t *x, long x_stride, const float *input_scales, long n, const int8_t *w,
                                 long stride, long first, long last, const float *scales, const float *bias,
                                 int accumulate, float *y, long y_stride);
void cadenza_int4_rows_avx2(const int8_t *x, int32_t x_sum, const uint8_t *w, long stride, long first, long last,
                            const float *scales, float input_scale, const float *bias, int accumulate, float *y);
void cadenza_int4_rows_many_avx2(const int8_t *x, long x_stride, const int32_t *x_sums, const float *input_scales,
                                 long n, const uint8_t *w, long stride, long first, long last, const float *scales,
                                 const float *bias, int accumulate, float *y, long y_stride);

/// 1 when the CPU running this has AVX2 (`__builtin_cpu_supports`), else 0.
int cadenza_cpu_has_avx2(void);

/// The byte of the int4 panel layout (above) that holds row j's weight at input p, in rows of
/// `stride` inputs: its low nibble where p % 8 < 4, its high nibble otherwise. The one statement
/// of the layout, for the packing (Tensor's `DecoderMatrix`) and the plain loop.
static inline long cadenza_int4_byte(long stride, long j, long p) {
    return ((j / 16) * (stride / 8) + p / 8) * 64 + (j % 16) * 4 + p % 4;
}

/// destination[c * rows + r] = source[r * source_stride + c] for r < rows, c < columns: a
/// [rows, columns] matrix with rows `source_stride` apart (negative: read in reverse) transposed
/// into a contiguous [columns, rows] one.
void cadenza_transpose_floats(const float *source, long source_stride, long rows, long columns, float *destination);

/// Mixed-precision products (Tensor's `BFloat16GEMM`): float32 rounded to bfloat16, to nearest
/// with ties to even (a NaN stays a quiet NaN).
uint16_t cadenza_bf16_round(float x);

/// Packs panels first_panel ..< last_panel of op(B) [k, n] (B stored [n, k] when `transposed`)
/// as bfloat16; panels of 32 columns, each `(k + 1) / 2 * 64` values: step kk of a panel holds,
/// for each column, the pair of rows 2kk and 2kk + 1. Zeros beyond k and n. `out` (aligned to 4
/// bytes) holds `(n + 31) / 32 * (k + 1) / 2 * 64` values.
void cadenza_bf16_pack_b(long k, long n, const float *b, long ldb, int transposed, uint16_t *out,
                         long first_panel, long last_panel);

/// Packs panels first_panel ..< last_panel of op(A) [m, k] (A stored [k, m] when `transposed`)
/// as bfloat16; panels of 12 rows, each `(k + 1) / 2 * 24` values: step kk holds, for each row,
/// the pair of columns 2kk and 2kk + 1. Zeros beyond m and k. `out` (aligned to 4 bytes) holds
/// `(m + 11) / 12 * (k + 1) / 2 * 24` values.
void cadenza_bf16_pack_a(long m, long k, const float *a, long lda, int transposed, uint16_t *out,
                         long first_panel, long last_panel);

/// C = alpha * op(A) op(B) + beta * C (+ bias[j] in column j where `bias` is not NULL, added last;
/// then, where `rectified` is nonzero, each output v stored as v >= 0 ? v : 0, Swift's max(0, v))
/// for the rows of row panels first_row_panel ..< last_row_panel, from packed operands, summing
/// in float32 (C is not read when beta is 0).
/// `path` 1 uses AVX-512 BF16 (`vdpbf16ps`), which the caller must have checked with
/// `cadenza_cpu_has_avx512bf16`; 0 the plain loop, which sums in the same order and so gives
/// the same bits (but for values that underflow to float32 denormals, which vdpbf16ps flushes).
void cadenza_bf16_gemm_packed(const uint16_t *packed_a, const uint16_t *packed_b, long m, long n, long k,
                              long first_row_panel, long last_row_panel, float *c, long ldc, float alpha,
                              float beta, const float *bias, int rectified, int path);

/// 1 when the CPU running this has AVX-512 BF16 (`__builtin_cpu_supports`), else 0.
int cadenza_cpu_has_avx512bf16(void);

/// 1 when the CPU running this has AVX-512 F (`__builtin_cpu_supports`), else 0: then code built
/// for it has 32 vector registers of 512 bits, where AVX2 code has 16 of 256.
int cadenza_cpu_has_avx512f(void);

/// A 12 x 32 tile of float32 sums from packed 16-bit operands (one panel of each, `k2` pairs of depths).
typedef void (*cadenza_tile_function)(const uint16_t *packed_a, const uint16_t *packed_b, long k2, float *tile);

/// What both 16-bit products do with their tiles: for each tile of row panels first_row_panel ..<
/// last_row_panel, `tile_function`, then output (i, j) times `row_inverses[i]` and
/// `column_inverses[j]` when they are given (float16's scales), then C = alpha * that + beta * C
/// (C not read when beta is 0), then + bias[j] where `bias` is given, then rectified where asked.
void cadenza_packed_tiles(cadenza_tile_function tile_function, const uint16_t *packed_a, const uint16_t *packed_b,
                          long m, long n, long k, long first_row_panel, long last_row_panel,
                          const float *row_inverses, const float *column_inverses, float *c, long ldc, float alpha,
                          float beta, const float *bias, int rectified);

/// Float16 products (Tensor's `Float16GEMM`): packs panels first_panel ..< last_panel of op(B) or
/// op(A) as float16 in the layout of `cadenza_bf16_pack_b` and `cadenza_bf16_pack_a`, each lane
/// (column of op(B), row of op(A)) times its scale, to nearest with ties to even. The scales of
/// those panels' lanes are found here (`cadenza_f16_lane_scales`), so each packing task finds its
/// own, and written to `scales[lane]` and `inverses[lane]` (arrays of n or m floats). Where `sums`
/// is not NULL, each packed lane's values are also added into `sums[lane]`, in depth order (see
/// `cadenza_f16_lane_scales`).
void cadenza_f16_pack_b(long k, long n, const float *b, long ldb, int transposed, float *scales, float *inverses,
                        float *sums, uint16_t *out, long first_panel, long last_panel);
void cadenza_f16_pack_a(long m, long k, const float *a, long lda, int transposed, float *scales, float *inverses,
                        float *sums, uint16_t *out, long first_panel, long last_panel);

/// The power of two a lane whose largest magnitude is `largest` is scaled by before it is packed:
/// it brings that magnitude into [2^4, 2^5), so that a product is below 2^10 and a float16 sum of
/// 32 of them below 2^15. 1 for zeros, infinities and NaN.
float cadenza_f16_scale(float largest);

/// Each lane's `cadenza_f16_scale` and its inverse, for `lanes` lanes of `depth` values: lane l's
/// values at x + l * ld when `adjacent`, else value d of every lane in the row x + d * ld. Where
/// `sums` is not NULL, also sums[l] += each of lane l's values, one float addition at a time in
/// depth order (a Linear layer's bias gradient, found in the same pass over its output gradient).
void cadenza_f16_lane_scales(long lanes, long depth, const float *x, long ld, int adjacent, float *scales,
                             float *inverses, float *sums);

/// C = alpha * op(A) op(B) + beta * C for the rows of row panels first_row_panel ..<
/// last_row_panel, from float16-packed operands: each lane sums 32 products in float16, each such
/// sum is added to float32 sums, and output (i, j) is multiplied by `row_inverses[i]` and
/// `column_inverses[j]` (the inverse scales) before alpha; `bias` and `rectified` as
/// `cadenza_bf16_gemm_packed`'s. `path` 1 uses AVX-512 FP16
/// (`vfmadd231ph`), which the caller must have checked with `cadenza_cpu_has_avx512fp16`; 0 a
/// plain loop that gives the same bits.
void cadenza_f16_gemm_packed(const uint16_t *packed_a, const uint16_t *packed_b, long m, long n, long k,
                             long first_row_panel, long last_row_panel, const float *row_inverses,
                             const float *column_inverses, float *c, long ldc, float alpha, float beta,
                             const float *bias, int rectified, int path);

/// 1 when the CPU running this has AVX-512 FP16 (`__builtin_cpu_supports`), else 0.
int cadenza_cpu_has_avx512fp16(void);

/// Dropout masks (Tensor's `Dropout.makeMasks`): for each of `streams` streams, `count` mask
/// values at mask + s * count from the xoshiro256** generator whose state (s0, s1, s2, s3) is
/// states[4s ..< 4s + 4], drawn in index order, one 64-bit draw per two elements: element 2d is
/// dropped when the draw's bits 40-63 are below `threshold`, element 2d + 1 when its bits 8-31
/// are (the last draw's second half unused when `count` is odd). A dropped element's value is 0,
/// a kept one's `keep`. Where `x` is not NULL, x[i] = x[i] * mask[i] in the same pass (same
/// layout). The states are left where each stream's generator ends. Where the CPU has AVX-512
/// (checked at run time), eight streams are drawn side by side in the lanes of a vector; the
/// numbers do not depend on that.
void cadenza_dropout_masks(uint64_t *states, long streams, long count, uint32_t threshold, float keep, float *mask,
                           float *x);

/// The same masks from a plain loop, one stream after another: the reference for the tests.
void cadenza_dropout_masks_portable(uint64_t *states, long streams, long count, uint32_t threshold, float keep,
                                    float *mask, float *x);

/// 1 when `cadenza_dropout_masks` draws eight streams at once on this CPU, else 0.
int cadenza_dropout_masks_use_avx512(void);

/// Adam's update of `count` elements (Tensor's `Adam`; paper, Algorithm 1, in PyTorch's order):
/// g += l2_decay * p where l2_decay != 0; p *= decoupled_decay where it is not 0;
/// m = beta1 * m + (1 - beta1) * g; v = beta2 * v + (1 - beta2) * g * g;
/// p -= step_size * m / (sqrt(v) * inverse_root_correction2 + epsilon); each operation rounded
/// to float32 on its own (no fused multiply-adds). `g` is read, not written.
void cadenza_adam(float *p, const float *g, float *m, float *v, long count, float step_size,
                  float inverse_root_correction2, float beta1, float beta2, float epsilon, float decoupled_decay,
                  float l2_decay);

/// The largest of p[0 ..< n] in the order Tensor's `vectorMax` documents: 16 lanes, lane l
/// taking p[i + l] only where it is greater (`vmaxps`), then the lanes from 0 to 15 and the
/// last n mod 16 values, each taken where it is greater than or equal (Swift's `max`); NaNs are
/// never taken, and -infinity is the result when nothing is taken.
float cadenza_largest(const float *p, long n);

/// x[0 ..< n] times `inverse`, each rounded to the nearest integer, ties to even (Tensor's
/// `roundedToIntegers`: the product rounded to float32, then 1.5 * 2^23 added; |x * inverse|
/// must be below 2^22), written to `out` as int8 (`narrow`) or int16 by truncation; returns the
/// integers' sum, wrapping.
int32_t cadenza_round_inputs(const float *x, long n, float inverse, int narrow, void *out);

#endif
