/* Compiled and run by bench/sections/blas.js (gcc -O2 -lopenblas), read from
   here at run time. Times cblas_sgemm (row-major, no transposes) at each
   M N K given: 2 warm-up calls, then the best and mean of reps calls; checks
   16 sampled entries against a double-precision dot product.
   Usage: sgemm REPS M N K [M N K ...] */
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <time.h>
#include <cblas.h>
char *openblas_get_corename(void);
char *openblas_get_config(void);
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(int argc, char **argv) {
  int reps = atoi(argv[1]);
  printf("core %s\nconfig %s\n", openblas_get_corename(), openblas_get_config());
  for (int a = 2; a + 2 < argc; a += 3) {
    int M = atoi(argv[a]), N = atoi(argv[a + 1]), K = atoi(argv[a + 2]);
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N), *C = malloc(sizeof(float) * M * N);
    unsigned s = 1;
    for (long i = 0; i < (long)M * K; i++) { s = s * 1664525u + 1013904223u; A[i] = (float)((s >> 8) / 16777216.0 - 0.5); }
    for (long i = 0; i < (long)K * N; i++) { s = s * 1664525u + 1013904223u; B[i] = (float)((s >> 8) / 16777216.0 - 0.5); }
    for (int w = 0; w < 2; w++) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
    double best = 1e30, sum = 0;
    for (int r = 0; r < reps; r++) {
      double t = now();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
      t = now() - t; sum += t; if (t < best) best = t;
    }
    double worst = 0;
    for (int q = 0; q < 16; q++) {
      int i = (q * 7919) % M, j = (q * 104729) % N;
      double ref = 0, mag = 0;
      for (int k = 0; k < K; k++) { double p = (double)A[(long)i * K + k] * B[(long)k * N + j]; ref += p; mag += fabs(p); }
      double e = fabs(C[(long)i * N + j] - ref) / (mag > 0 ? mag : 1);
      if (e > worst) worst = e;
    }
    printf("gemm %d %d %d %.9f %.9f %.3e\n", M, N, K, best, sum / reps, worst);
    free(A); free(B); free(C);
  }
  return 0;
}
