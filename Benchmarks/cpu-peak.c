// The ceiling the products are measured against (docs/benchmarks.md, "Mixed precision"): one
// core's rate of AVX-512 BF16 dot products (`vdpbf16ps`, 64 flops each) and of float32 fused
// multiply-adds (`vfmadd231ps`, 32 flops each), in a loop of 24 independent sums so that only
// the instructions' throughput limits it.
//   cc -O2 -march=native Benchmarks/cpu-peak.c -o /tmp/cpu-peak && /tmp/cpu-peak
#include <immintrin.h>
#include <stdio.h>
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

int main(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512bf16")) {
        printf("this CPU has no AVX-512 BF16\n");
        return 1;
    }
    for (int round = 0; round < 3; round++) {
        printf("one core: vdpbf16ps %.1f GFLOP/s, vfmadd231ps %.1f GFLOP/s\n", bf16_rate(20000000),
               fma_rate(20000000));
    }
    return 0;
}
