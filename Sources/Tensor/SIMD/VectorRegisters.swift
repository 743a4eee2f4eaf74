import TensorKernels

/// How many `SIMD16<Float>` sums a kernel can keep in the CPU's vector registers.
///
/// With AVX-512 a `SIMD16<Float>` is one of 32 registers, so a kernel may hold twelve or sixteen
/// sums and still have registers for its operands. With AVX2 alone it is two of 16 registers:
/// more than about six sums spill to the stack at every step of the loop (as the GEMM's tile
/// did: docs/tensor-gemm.md). Kernels with wide register blocks read this to choose narrower
/// blocks there (docs/tensor-kernels.md lists them); each narrow way sums every element in the
/// same order as the wide one, so the choice changes no bits.
enum VectorRegisters {
    /// Whether the registers are AVX-512's: twelve to sixteen `SIMD16<Float>` sums fit.
    static let holdSixteenSums = cadenza_cpu_has_avx512f() != 0
}
