#ifndef CADENZA_TENSOR_KERNELS_H
#define CADENZA_TENSOR_KERNELS_H

#include <stdint.h>

/// Integer dot products for batch-1 decoding with 8-bit weights (Tensor's `DecoderMatrix`,
/// precision int8): out[j - first] = sum over p < stride of x[p] * w[j * stride + p], for every
/// row j in first ..< last, summed exactly: in sixteen 32-bit lanes, then the lanes in 64 bits.
///
/// `stride` is a multiple of 32, and `x` and every row are zero-padded to it. The caller keeps
/// every |x[p]| small enough that no lane can overflow (`DecoderMatrix` does: |x| <= 32767 and
/// |w| <= 127 give at most 4.2e6 per product, and each lane adds stride / 16 of them).
///
/// Why C: AVX-512 VNNI's `vpdpwssd` multiplies 32 pairs of 16-bit integers and adds them into
/// 16 32-bit sums in one instruction; Swift's SIMD types have no way to ask for it, and the
/// float16 path it replaces is bound by `vcvtph2ps` (16 weights per 2 cycles). Without VNNI
/// (another CPU) the same sums come from a plain loop.
void cadenza_int8_dot_rows(const int16_t *x, const int8_t *w, long stride, long first, long last,
                           int64_t *out);

/// 1 when `cadenza_int8_dot_rows` was built with AVX-512 VNNI, 0 when it runs the plain loop
/// (then int8 is no faster than float16, and decoders should not prefer it).
int cadenza_int8_dot_rows_uses_vnni(void);

/// The same sums from a plain loop: what `cadenza_int8_dot_rows` runs on CPUs without AVX-512
/// VNNI, and the reference the tests hold the VNNI path to.
void cadenza_int8_dot_rows_portable(const int16_t *x, const int8_t *w, long stride, long first, long last,
                                    int64_t *out);

#endif
