#ifndef CADENZA_DECODER_ROWS_H
#define CADENZA_DECODER_ROWS_H

// What every path of the integer decoder kernels (TensorKernels.h, `cadenza_int8_rows` and
// `cadenza_int4_rows`) does with a row's exact integer total, shared so that the plain loops,
// the AVX2 kernels and the AVX-512 VNNI kernels finish each row with the same operations.

#include <stdint.h>

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

// Row j's 4-bit total from the exact dot product of its stored nibbles u with x: each weight is
// 2u - 15 in units of the row's scale, so the total is 2 * dot - 15 * x_sum, in 64 bits.
static inline int64_t int4_total(int64_t dot, int32_t x_sum) { return 2 * dot - 15 * (int64_t)x_sum; }

#endif
