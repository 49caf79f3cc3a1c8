/*
 * kernels_avx2: the AVX2+FMA instance of kernels_simd.h, 8 lanes. Every function carries a
 * target attribute, so this file builds with the project's ordinary flags and the binary still
 * runs on CPUs without AVX2: kernels.c only hands these out after asking the CPU. Left out
 * with PORTABLE=1 and on other architectures.
 */
#include "kernels.h"

#if defined(MLP_HAVE_X86)

#include <immintrin.h>
#include <math.h>
#include <stdbool.h>

#define V      8
#define vf     __m256
#define SFX(n) n##_avx2
#define TARGET __attribute__((target("avx2,fma")))

TARGET static inline __m256i lanes_below_avx2(size_t n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

TARGET static inline __m256 loadn_avx2(const float *p, size_t n)
{
    return _mm256_maskload_ps(p, lanes_below_avx2(n));
}

TARGET static inline void storen_avx2(float *p, __m256 v, size_t n)
{
    _mm256_maskstore_ps(p, lanes_below_avx2(n), v);
}

/* ((l0+l4) + (l2+l6)) + ((l1+l5) + (l3+l7)) */
TARGET static inline float hsum_avx2(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

#define vload(p)      _mm256_loadu_ps(p)
#define vstore(p, v)  _mm256_storeu_ps(p, v)
#define vloadn        loadn_avx2
#define vstoren       storen_avx2
#define vset1(x)      _mm256_set1_ps(x)
#define vzero()       _mm256_setzero_ps()
#define vadd          _mm256_add_ps
#define vsub          _mm256_sub_ps
#define vmul          _mm256_mul_ps
#define vdiv          _mm256_div_ps
#define vsqrt         _mm256_sqrt_ps
#define vmin          _mm256_min_ps
#define vmax          _mm256_max_ps
#define vfma(a, b, c) _mm256_fmadd_ps(a, b, c)
#define vhsum         hsum_avx2
#define vround(x)     _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define vpow2(n)                                                                                   \
    _mm256_castsi256_ps(                                                                           \
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23))
#define vrelu_slope(d, a) _mm256_and_ps(d, _mm256_cmp_ps(a, _mm256_setzero_ps(), _CMP_GT_OQ))

/* 16 ymm registers: twelve accumulators per tile, and its operands (forward: four rows of W and
 * one of x, the fifth read by the FMA from L1). Picked by timing each product alone on config
 * A, B and C's layers: against the earlier 3x3 forward and 4x2 weight-gradient tiles, 3x4
 * took the forward from about 70 to 79 GFLOP/s on one core at 800x800, and 4x3 the weight
 * gradient from 63 to 71, without losing on A's 784x16 (4 divides 16). */
#define FWD_IT 3
#define FWD_JT 4
#define BW_JT  4
#define BW_KV  3
#define BX_IT  4
#define BX_KV  3
#define BX_JB  128

#include "kernels_simd.h"

const mlp_kernels mlp_kernels_avx2 = {"avx2",          forward_avx2, backward_w_avx2,
                                      backward_x_avx2, step_avx2,    adam_avx2,
                                      clip_rows_avx2,  probe_avx2,   V};

#else

/* ISO C forbids an empty translation unit. */
typedef int mlp_kernels_unused;

#endif
