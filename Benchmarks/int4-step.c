// A GPT-2 `small` step's 24 products (6 layers of [768x256], [256x256], [1024x256], [256x1024])
// on two threads, each its half of every matrix's rows, no barriers: int8 weights
// (`cadenza_int8_rows`) against int4 (`cadenza_int4_rows`), alternately, in microseconds per
// step. An optional second argument streams that many bytes per thread and step beside the
// products, standing in for the KV cache's keys and values. Its own streaming code uses AVX-512,
// so it builds on the AVX-512 hosts only (the kernels it times run everywhere).
//
//   clang -O3 -march=native -Xclang -target-feature -Xclang +fast-dpwssd -ISources/TensorKernels/include \
//     Benchmarks/int4-step.c Sources/TensorKernels/TensorKernels.c Sources/TensorKernels/DecoderAVX2.c \
//     -lpthread -o /tmp/int4-step && /tmp/int4-step && /tmp/int4-step 600000
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "TensorKernels.h"

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

typedef struct { long N, K; int8_t *w8; uint8_t *w4; float *scales; } Mat;
static Mat mats[24];
static int16_t x16[1024]; static int8_t x8[1024];
static float ys[2][4096];
static int mode; static long steps = 2000; static uint16_t *kv[2]; static long kvbytes;
static pthread_barrier_t bar;

static void *run(void *arg) {
    long t = (long)arg;
    pthread_barrier_wait(&bar);
    volatile float sink = 0;
    for (long s = 0; s < steps; s++) {
        for (int m = 0; m < 24; m++) {
            Mat *M = &mats[m];
            long half = M->N / 2, first = t * half, last = first + half;
            if (mode == 0) cadenza_int8_rows(x16, M->w8, M->K, first, last, M->scales, 1e-5f, NULL, 0, ys[t]);
            else cadenza_int4_rows(x8, 0, M->w4, M->K, first, last, M->scales, 1e-5f, NULL, 0, ys[t]);
        }
        if (kvbytes) { // stream the thread's share of the KV cache
            __m512 acc = _mm512_setzero_ps();
            for (long i = 0; i < kvbytes / 2; i += 32) acc = _mm512_add_ps(acc, _mm512_castsi512_ps(_mm512_loadu_si512(kv[t] + i)));
            sink += _mm512_reduce_add_ps(acc);
        }
    }
    pthread_barrier_wait(&bar);
    return NULL;
}

int main(int argc, char **argv) {
    kvbytes = argc > 1 ? atol(argv[1]) : 0;
    long shapes[4][2] = {{768, 256}, {256, 256}, {1024, 256}, {256, 1024}};
    srand(1);
    for (int m = 0; m < 24; m++) {
        Mat *M = &mats[m]; M->N = shapes[m % 4][0]; M->K = shapes[m % 4][1];
        M->w8 = aligned_alloc(64, M->N * M->K); M->w4 = aligned_alloc(64, M->N * M->K / 2);
        M->scales = malloc(M->N * 4);
        for (long i = 0; i < M->N * M->K; i++) M->w8[i] = rand() % 255 - 127;
        for (long i = 0; i < M->N * M->K / 2; i++) M->w4[i] = rand();
        for (long i = 0; i < M->N; i++) M->scales[i] = 1;
    }
    for (int i = 0; i < 1024; i++) { x16[i] = rand() % 60000 - 30000; x8[i] = rand() % 255 - 127; }
    for (int t = 0; t < 2; t++) { kv[t] = aligned_alloc(64, kvbytes + 64); memset(kv[t], 1, kvbytes + 64); }
    for (int round = 0; round < 6; round++) {
        for (mode = 0; mode < 2; mode++) {
            pthread_barrier_init(&bar, NULL, 3);
            pthread_t th[2];
            for (long t = 0; t < 2; t++) pthread_create(&th[t], NULL, run, (void *)t);
            pthread_barrier_wait(&bar); double s = now();
            pthread_barrier_wait(&bar); double e = now();
            for (int t = 0; t < 2; t++) pthread_join(th[t], NULL);
            printf("%s: %.1f us/step  ", mode ? "int4" : "int8", (e - s) / steps * 1e6);
        }
        printf("\n");
    }
}
