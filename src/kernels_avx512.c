/*
 * kernels_avx512: the AVX-512 instance of kernels_simd.h, 16 lanes, built like kernels_avx2.c
 * (target attributes, handed out only when the CPU has AVX-512F, AVX2 and FMA).
 */
#include "kernels.h"

#if defined(MLP_HAVE_X86)

#include <immintrin.h>
#include <math.h>
#include <stdbool.h>

#define V      16
#define vf     __m512
#define SFX(n) n##_avx512
#define TARGET __attribute__((target("avx512f,avx2,fma")))

TARGET static inline __mmask16 lanes_below_avx512(size_t n)
{
    return (__mmask16)((1u << n) - 1u);
}

/* ((l0+l8) + (l4+l12)) ... : halves, then the AVX2 tree on the 8 sums */
TARGET static inline float hsum_avx512(__m512 v)
{
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v),
                             _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

#define vload(p)         _mm512_loadu_ps(p)
#define vstore(p, v)     _mm512_storeu_ps(p, v)
#define vloadn(p, n)     _mm512_maskz_loadu_ps(lanes_below_avx512(n), p)
#define vstoren(p, v, n) _mm512_mask_storeu_ps(p, lanes_below_avx512(n), v)
#define vset1(x)         _mm512_set1_ps(x)
#define vzero()          _mm512_setzero_ps()
#define vadd             _mm512_add_ps
#define vsub             _mm512_sub_ps
#define vmul             _mm512_mul_ps
#define vdiv             _mm512_div_ps
#define vsqrt            _mm512_sqrt_ps
#define vmin             _mm512_min_ps
#define vmax             _mm512_max_ps
#define vfma(a, b, c)    _mm512_fmadd_ps(a, b, c)
#define vhsum            hsum_avx512
#define vround(x)        _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define vpow2(n)                                                                                   \
    _mm512_castsi512_ps(                                                                           \
        _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23))
#define vrelu_slope(d, a)                                                                          \
    _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a, _mm512_setzero_ps(), _CMP_GT_OQ), d)

/* 32 zmm registers: larger tiles load less per multiply-add; picked by timing as above */
#define FWD_IT 6
#define FWD_JT 4
#define BW_JT  8
#define BW_KV  3
#define BX_IT  8
#define BX_KV  3
#define BX_JB  128

#include "kernels_simd.h"

const mlp_kernels mlp_kernels_avx512 = {"avx512",          forward_avx512, backward_w_avx512,
                                        backward_x_avx512, step_avx512,    adam_avx512,
                                        clip_rows_avx512,  probe_avx512,   V};

#else

/* ISO C forbids an empty translation unit. */
typedef int mlp_kernels_unused;

#endif
