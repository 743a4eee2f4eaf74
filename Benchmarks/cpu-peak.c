// The ceiling the products are measured against (docs/benchmarks.md, "Mixed precision"): one
// core's rate of AVX-512 BF16 dot products (`vdpbf16ps`, 64 flops each), of float32 fused
// multiply-adds (`vfmadd231ps`, 32 flops each) and, where the CPU has AVX-512 FP16 (Intel), of
// float16 ones (`vfmadd231ph`, 64 flops each, sums in float16) and of the 8-bit integer dot
// products int4 decoding runs on (`vpdpbusd`, 64 multiply-adds each), in a loop of 24 independent sums
// so that only the instructions' throughput limits it. Also one core's read bandwidth from a buffer that fits
// the L2, one the size of batch-1 generation's int8 weights (they are read once per token, so
// bandwidth divided by their size bounds tokens/s), and one far larger than any cache.
//   clang -O2 -march=native Benchmarks/cpu-peak.c -o /tmp/cpu-peak && /tmp/cpu-peak
// clang (the Swift toolchain's) keeps the 24 sums in registers; gcc 12 keeps the array in memory
// and measures store forwarding instead (docs/benchmarks.md, "Intel Xeon").
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

// Keeps all 24 sums live in registers across iterations, so the compiler cannot drop any.
#define KEEP(acc)                                                                                        \
    __asm__ volatile("" ::"v"(acc[0]), "v"(acc[1]), "v"(acc[2]), "v"(acc[3]), "v"(acc[4]), "v"(acc[5]),   \
                     "v"(acc[6]), "v"(acc[7]), "v"(acc[8]), "v"(acc[9]), "v"(acc[10]), "v"(acc[11]),      \
                     "v"(acc[12]), "v"(acc[13]), "v"(acc[14]), "v"(acc[15]), "v"(acc[16]), "v"(acc[17]),  \
                     "v"(acc[18]), "v"(acc[19]), "v"(acc[20]), "v"(acc[21]), "v"(acc[22]), "v"(acc[23]))

__attribute__((target("avx512f,avx512bf16"))) static double bf16_rate(long iterations) {
    __m512 acc[24];
    for (int i = 0; i < 24; i++) acc[i] = _mm512_set1_ps((float)i);
    __m512bh a = (__m512bh)_mm512_set1_epi32(0x3f803f80), b = a;
    double start = now();
    for (long r = 0; r < iterations; r++) {
        for (int i = 0; i < 24; i++) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
        KEEP(acc);
    }
    return 24.0 * iterations * 64 / (now() - start) / 1e9;
}

__attribute__((target("avx512f"))) static double fma_rate(long iterations) {
    __m512 acc[24];
    for (int i = 0; i < 24; i++) acc[i] = _mm512_set1_ps((float)i);
    __m512 a = _mm512_set1_ps(1.0001f), b = _mm512_set1_ps(0.9999f);
    double start = now();
    for (long r = 0; r < iterations; r++) {
        for (int i = 0; i < 24; i++) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
        KEEP(acc);
    }
    return 24.0 * iterations * 32 / (now() - start) / 1e9;
}

__attribute__((target("avx512f,avx512fp16"))) static double fp16_rate(long iterations) {
    __m512h acc[24];
    for (int i = 0; i < 24; i++) acc[i] = _mm512_set1_ph((_Float16)i);
    __m512h a = _mm512_set1_ph((_Float16)0.999f), b = _mm512_set1_ph((_Float16)0.001f);
    double start = now();
    for (long r = 0; r < iterations; r++) {
        for (int i = 0; i < 24; i++) acc[i] = _mm512_fmadd_ph(acc[i], a, b);
        KEEP(acc);
    }
    return 24.0 * iterations * 64 / (now() - start) / 1e9;
}

__attribute__((target("avx512f,avx512vnni"))) static double vnni_rate(long iterations) {
    __m512i acc[24];
    for (int i = 0; i < 24; i++) acc[i] = _mm512_set1_epi32(i);
    __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(5);
    double start = now();
    for (long r = 0; r < iterations; r++) {
        for (int i = 0; i < 24; i++) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
        KEEP(acc);
    }
    return 24.0 * iterations * 64 / (now() - start) / 1e9;
}

// GB/s of summing `bytes` of a buffer, repeated `passes` times (the first pass untimed), four
// independent 64-byte loads per step so that only the memory system limits it.
__attribute__((target("avx512f"))) static double read_rate(long bytes, int passes) {
    long count = bytes / 64;
    __m512i *buffer = aligned_alloc(64, count * 64);
    for (long i = 0; i < count; i++) buffer[i] = _mm512_set1_epi32((int)i);
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
    double start = 0;
    for (int pass = 0; pass <= passes; pass++) {
        if (pass == 1) start = now();
        for (long i = 0; i + 4 <= count; i += 4) {
            s0 = _mm512_add_epi32(s0, buffer[i]);
            s1 = _mm512_add_epi32(s1, buffer[i + 1]);
            s2 = _mm512_add_epi32(s2, buffer[i + 2]);
            s3 = _mm512_add_epi32(s3, buffer[i + 3]);
        }
    }
    double seconds = now() - start;
    __m512i sum = _mm512_add_epi32(_mm512_add_epi32(s0, s1), _mm512_add_epi32(s2, s3));
    __asm__ volatile("" ::"v"(sum));
    free(buffer);
    return (double)count * 64 * passes / seconds / 1e9;
}

int main(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512bf16")) {
        printf("this CPU has no AVX-512 BF16\n");
        return 1;
    }
    for (int round = 0; round < 3; round++) {
        printf("one core: vdpbf16ps %.1f GFLOP/s, vfmadd231ps %.1f GFLOP/s", bf16_rate(20000000),
               fma_rate(20000000));
        if (__builtin_cpu_supports("avx512fp16")) printf(", vfmadd231ph %.1f GFLOP/s", fp16_rate(20000000));
        if (__builtin_cpu_supports("avx512vnni")) printf(", vpdpbusd %.1f G multiply-adds/s", vnni_rate(20000000));
        printf("\n");
    }
    for (int round = 0; round < 3; round++) {
        printf("one core: read 1 MiB %.1f GB/s, 5 MiB %.1f GB/s, 256 MiB %.1f GB/s\n", read_rate(1L << 20, 4000),
               read_rate(5L << 20, 800), read_rate(256L << 20, 8));
    }
    return 0;
}
