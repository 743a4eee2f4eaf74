// Kernel-only throughput of batch-1 dot-product variants on this CPU, one thread: the
// measurement behind TensorKernels (int8 weights x int16 input with vpdpwssd) and the
// alternatives it was chosen over (docs/tensor-kernels.md, "Batch-1 decoding kernels").
// Rows of K = 1024, four at a time sharing each load of x, 0.5 to 16.8 MB of float16-sized rows.
// Build and run: gcc -O3 -march=native Benchmarks/decoder-dot-kernels.c -o /tmp/k && /tmp/k
// Output: Benchmarks/decoder-dot-kernels-results.txt (one current file; git keeps earlier ones)
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
// f16 weights, f32 x: 4 rows at a time
void f16k(const float*x,const uint16_t*w,int K,int R,float*y){
 for(int j=0;j<R;j+=4){const uint16_t*r0=w+(size_t)j*K,*r1=r0+K,*r2=r1+K,*r3=r2+K;
  __m512 a0=_mm512_setzero_ps(),a1=a0,a2=a0,a3=a0;
  for(int p=0;p<K;p+=16){__m512 xv=_mm512_loadu_ps(x+p);
   a0=_mm512_fmadd_ps(xv,_mm512_cvtph_ps(_mm256_loadu_si256((void*)(r0+p))),a0);
   a1=_mm512_fmadd_ps(xv,_mm512_cvtph_ps(_mm256_loadu_si256((void*)(r1+p))),a1);
   a2=_mm512_fmadd_ps(xv,_mm512_cvtph_ps(_mm256_loadu_si256((void*)(r2+p))),a2);
   a3=_mm512_fmadd_ps(xv,_mm512_cvtph_ps(_mm256_loadu_si256((void*)(r3+p))),a3);}
  y[j]=_mm512_reduce_add_ps(a0);y[j+1]=_mm512_reduce_add_ps(a1);y[j+2]=_mm512_reduce_add_ps(a2);y[j+3]=_mm512_reduce_add_ps(a3);}}
// int8 weights x u8 activations (vpdpbusd)
void vnni(const uint8_t*x,const int8_t*w,int K,int R,int*y){
 for(int j=0;j<R;j+=4){const int8_t*r0=w+(size_t)j*K,*r1=r0+K,*r2=r1+K,*r3=r2+K;
  __m512i a0=_mm512_setzero_si512(),a1=a0,a2=a0,a3=a0;
  for(int p=0;p<K;p+=64){__m512i xv=_mm512_loadu_si512(x+p);
   a0=_mm512_dpbusd_epi32(a0,xv,_mm512_loadu_si512(r0+p));
   a1=_mm512_dpbusd_epi32(a1,xv,_mm512_loadu_si512(r1+p));
   a2=_mm512_dpbusd_epi32(a2,xv,_mm512_loadu_si512(r2+p));
   a3=_mm512_dpbusd_epi32(a3,xv,_mm512_loadu_si512(r3+p));}
  y[j]=_mm512_reduce_add_epi32(a0);y[j+1]=_mm512_reduce_add_epi32(a1);y[j+2]=_mm512_reduce_add_epi32(a2);y[j+3]=_mm512_reduce_add_epi32(a3);}}
// int8 weights widened to int16 x int16 activations (vpdpwssd)
void w16(const int16_t*x,const int8_t*w,int K,int R,int*y){
 for(int j=0;j<R;j+=4){const int8_t*r0=w+(size_t)j*K,*r1=r0+K,*r2=r1+K,*r3=r2+K;
  __m512i a0=_mm512_setzero_si512(),a1=a0,a2=a0,a3=a0;
  for(int p=0;p<K;p+=32){__m512i xv=_mm512_loadu_si512(x+p);
   a0=_mm512_dpwssd_epi32(a0,xv,_mm512_cvtepi8_epi16(_mm256_loadu_si256((void*)(r0+p))));
   a1=_mm512_dpwssd_epi32(a1,xv,_mm512_cvtepi8_epi16(_mm256_loadu_si256((void*)(r1+p))));
   a2=_mm512_dpwssd_epi32(a2,xv,_mm512_cvtepi8_epi16(_mm256_loadu_si256((void*)(r2+p))));
   a3=_mm512_dpwssd_epi32(a3,xv,_mm512_cvtepi8_epi16(_mm256_loadu_si256((void*)(r3+p))));}
  y[j]=_mm512_reduce_add_epi32(a0);y[j+1]=_mm512_reduce_add_epi32(a1);y[j+2]=_mm512_reduce_add_epi32(a2);y[j+3]=_mm512_reduce_add_epi32(a3);}}
// int8 weights -> f32 conversion, f32 x
void i8f(const float*x,const int8_t*w,int K,int R,float*y){
 for(int j=0;j<R;j+=4){const int8_t*r0=w+(size_t)j*K,*r1=r0+K,*r2=r1+K,*r3=r2+K;
  __m512 a0=_mm512_setzero_ps(),a1=a0,a2=a0,a3=a0;
  for(int p=0;p<K;p+=16){__m512 xv=_mm512_loadu_ps(x+p);
   a0=_mm512_fmadd_ps(xv,_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((void*)(r0+p)))),a0);
   a1=_mm512_fmadd_ps(xv,_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((void*)(r1+p)))),a1);
   a2=_mm512_fmadd_ps(xv,_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((void*)(r2+p)))),a2);
   a3=_mm512_fmadd_ps(xv,_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((void*)(r3+p)))),a3);}
  y[j]=_mm512_reduce_add_ps(a0);y[j+1]=_mm512_reduce_add_ps(a1);y[j+2]=_mm512_reduce_add_ps(a2);y[j+3]=_mm512_reduce_add_ps(a3);}}
void f32k(const float*x,const float*w,int K,int R,float*y){
 for(int j=0;j<R;j+=4){const float*r0=w+(size_t)j*K,*r1=r0+K,*r2=r1+K,*r3=r2+K;
  __m512 a0=_mm512_setzero_ps(),a1=a0,a2=a0,a3=a0;
  for(int p=0;p<K;p+=16){__m512 xv=_mm512_loadu_ps(x+p);
   a0=_mm512_fmadd_ps(xv,_mm512_loadu_ps(r0+p),a0);a1=_mm512_fmadd_ps(xv,_mm512_loadu_ps(r1+p),a1);
   a2=_mm512_fmadd_ps(xv,_mm512_loadu_ps(r2+p),a2);a3=_mm512_fmadd_ps(xv,_mm512_loadu_ps(r3+p),a3);}
  y[j]=_mm512_reduce_add_ps(a0);y[j+1]=_mm512_reduce_add_ps(a1);y[j+2]=_mm512_reduce_add_ps(a2);y[j+3]=_mm512_reduce_add_ps(a3);}}
int main(){int K=1024;
 for(int R0 = 256; R0 <= 8192; R0*=2){ int R=R0; size_t n=(size_t)R*K;
  float*x=aligned_alloc(64,K*4);uint8_t*xu=aligned_alloc(64,K);int16_t*x16=aligned_alloc(64,K*2);
  uint16_t*wh=aligned_alloc(64,n*2);int8_t*wb=aligned_alloc(64,n);float*wf=aligned_alloc(64,n*4);float*y=aligned_alloc(64,R*4);int*yi=aligned_alloc(64,R*4);
  for(int i=0;i<K;i++){x[i]=i*0.001f;xu[i]=i;x16[i]=i;}
  for(size_t i=0;i<n;i++){wh[i]=0x3c00;wb[i]=i;wf[i]=1;}
  const char*names[]={"f32","f16","i8->f32","vnni u8","i8xi16"};
  for(int k=0;k<5;k++){double best=1e9;
   for(int t=0;t<9;t++){int reps=1+(int)(4e8/n);double t0=now();
    for(int r=0;r<reps;r++){switch(k){case 0:f32k(x,wf,K,R,y);break;case 1:f16k(x,wh,K,R,y);break;case 2:i8f(x,wb,K,R,y);break;case 3:vnni(xu,wb,K,R,yi);break;case 4:w16(x16,wb,K,R,yi);break;}}
    double dt=(now()-t0)/reps;if(dt<best)best=dt;}
   printf("R=%5d (%6.1f MB f16) %-8s %6.1f Gelem/s\n",R,n*2/1e6,names[k],n/best/1e9);}
 }}
