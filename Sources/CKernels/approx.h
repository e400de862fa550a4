/* Branch-free float32 approximations of the transcendental functions, written so that clang
 * vectorizes loops calling them (everything inlines; selects instead of branches).
 * Accuracy versus correctly rounded results is measured by Tests/RuntimeTests/ElementwiseAccuracyTests
 * and documented in docs/performance.md. Helpers computed in double keep float32 accuracy
 * for the rarely hot functions (sin, cos, erf, gelu).
 */
#ifndef SG_APPROX_H
#define SG_APPROX_H
#include <stdint.h>
#include <string.h>

#define SG_INLINE static inline __attribute__((always_inline))

SG_INLINE uint32_t sg_fbits(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }
SG_INLINE float sg_bitsf(uint32_t u) { float x; memcpy(&x, &u, 4); return x; }
SG_INLINE uint64_t sg_dbits(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }
SG_INLINE double sg_bitsd(uint64_t u) { double x; memcpy(&x, &u, 8); return x; }
SG_INLINE float sg_fabsf(float x) { return sg_bitsf(sg_fbits(x) & 0x7fffffffu); }

#define SG_LOG2E 1.44269504088896341f
#define SG_LN2_HI 0.693145751953125f       /* 15 significant bits: n * hi is exact */
#define SG_LN2_LO 1.42860682030941723212e-6f

/* 2^n for n in [-126, 127] */
SG_INLINE float sg_pow2i(int32_t n) { return sg_bitsf((uint32_t)(n + 127) << 23); }

/* e^r - 1 for |r| <= ln2/2: r + r^2 q(r), q of degree 4 fitted (relative least squares on
   Chebyshev nodes against mpmath) to 1.4e-8 relative error of the result. */
SG_INLINE float sg_expm1_poly(float r) {
    float q = 0.0013858155580237508f;
    q = q * r + 0.008366678841412067f;
    q = q * r + 0.041667595505714417f;
    q = q * r + 0.16666541993618011f;
    q = q * r + 0.4999999701976776f;
    return r + (r * r) * q;
}

/* exp(x): Cody-Waite reduction x = n ln2 + r, e^r by polynomial, 2^n applied in two
   factors so that subnormal results and overflow to +inf come out right. */
SG_INLINE float sg_expf(float x) {
    float xc = x > -104.0f ? x : -104.0f;        /* NaN -> -104, fixed at the end */
    xc = xc < 89.0f ? xc : 89.0f;
    float n = __builtin_rintf(xc * SG_LOG2E);
    float r = xc - n * SG_LN2_HI;
    r = r - n * SG_LN2_LO;
    float p = 1.0f + sg_expm1_poly(r);
    int32_t ni = (int32_t)n;
    int32_t n1 = ni >> 1, n2 = ni - n1;
    float y = p * sg_pow2i(n1) * sg_pow2i(n2);
    return x != x ? x : y;
}

/* expm1(x) = 2^n (e^r - 1) + (2^n - 1), no cancellation near 0. */
SG_INLINE float sg_expm1f(float x) {
    float xc = x > -104.0f ? x : -104.0f;
    xc = xc < 89.0f ? xc : 89.0f;
    float n = __builtin_rintf(xc * SG_LOG2E);
    float r = xc - n * SG_LN2_HI;
    r = r - n * SG_LN2_LO;
    float e = sg_expm1_poly(r);
    int32_t ni = (int32_t)n;
    int32_t nt = ni < -126 ? -126 : (ni > 127 ? 127 : ni);
    float t = sg_pow2i(nt);
    float big = (t * e + t) * 2.0f;              /* n = 128: e^x = 2 * 2^127 * (1 + e) */
    float y = ni > 127 ? big : t * e + (t - 1.0f);
    return x != x ? x : y;
}

/* tanh(x) = sign(x) * e / (e + 2), e = expm1(2|x|); |x| >= 9.1 rounds to +-1. With 2|x| in
   [0, 18.2] the expm1 needs no range handling: e = 2^n (e^r - 1) + (2^n - 1), n in [0, 27]. */
SG_INLINE float sg_tanhf(float x) {
    float a = sg_fabsf(x);
    a = a < 9.1f ? a : 9.1f;                      /* NaN -> 9.1, fixed at the end */
    float a2 = 2.0f * a;
    float n = __builtin_rintf(a2 * SG_LOG2E);
    float r = a2 - n * SG_LN2_HI;
    r = r - n * SG_LN2_LO;
    float t = sg_pow2i((int32_t)n);
    float e = t * sg_expm1_poly(r) + (t - 1.0f);
    float y = e / (e + 2.0f);
    y = sg_bitsf(sg_fbits(y) | (sg_fbits(x) & 0x80000000u));
    return x != x ? x : y;
}

/* e^-a for a >= 0 (NaN allowed, fixed by the caller): one scale factor suffices because
   the result lies in (0, 1]: 2^n = 2^(n+64) * 2^-64 with n + 64 in [-86, 64]. */
SG_INLINE float sg_expneg(float a) {
    float xc = a < 104.0f ? -a : -104.0f;
    float n = __builtin_rintf(xc * SG_LOG2E);
    float r = xc - n * SG_LN2_HI;
    r = r - n * SG_LN2_LO;
    float p = 1.0f + sg_expm1_poly(r);
    return (p * sg_bitsf((uint32_t)((int32_t)n + 191) << 23)) * 5.42101086e-20f; /* 2^-64 */
}

/* sigmoid(x) = 1 / (1 + e^-x), as e / (1 + e) with e = e^x for x < 0 (no overflow, keeps
   subnormal results). */
SG_INLINE float sg_sigmoidf(float x) {
    float e = sg_expneg(sg_fabsf(x));
    float s = 1.0f / (1.0f + e);
    return x >= 0.0f ? s : (x != x ? x : e * s);
}

/* log(1 + f) - f + f^2/2 pieces for m = 1 + f in [sqrt(1/2), sqrt(2)):
   log(1+f) = f - (hfsq - s (hfsq + R)), s = f / (2 + f), R = 2 s^2/3 + 2 s^4/5 + ... */
SG_INLINE float sg_log1p_core(float f, float k, float c) {
    float s = f / (2.0f + f);
    float z = s * s;
    float R = 2.0f / 11;
    R = R * z + 2.0f / 9;
    R = R * z + 2.0f / 7;
    R = R * z + 2.0f / 5;
    R = R * z + 2.0f / 3;
    R = R * z;
    float hfsq = 0.5f * f * f;
    return k * SG_LN2_HI + (f - (hfsq - (s * (hfsq + R) + (k * SG_LN2_LO + c))));
}

SG_INLINE float sg_logf(float x) {
    int sub = x < 1.17549435e-38f;                 /* subnormal (or <= 0, fixed at the end) */
    float xs = sub ? x * 8388608.0f : x;
    uint32_t ix = sg_fbits(xs) + (0x3f800000u - 0x3f3504f3u);
    int32_t k = (int32_t)(ix >> 23) - 127 - (sub ? 23 : 0);
    float m = sg_bitsf((ix & 0x007fffffu) + 0x3f3504f3u);
    float y = sg_log1p_core(m - 1.0f, (float)k, 0.0f);
    y = x == 0.0f ? -__builtin_inff() : y;
    y = x < 0.0f ? __builtin_nanf("") : y;
    y = x == __builtin_inff() ? x : y;
    return x != x ? x : y;
}

/* log1p(x): log of u = 1 + x with the rounding error of u added back as c / u. */
SG_INLINE float sg_log1pf(float x) {
    float xc = x > -0.99999994f ? x : 0.0f;        /* x <= -1, NaN: fixed at the end */
    xc = xc <= 3.40282347e38f ? xc : 0.0f;         /* +inf: fixed at the end */
    float u = 1.0f + xc;
    uint32_t ix = sg_fbits(u) + (0x3f800000u - 0x3f3504f3u);
    int32_t k = (int32_t)(ix >> 23) - 127;
    float m = sg_bitsf((ix & 0x007fffffu) + 0x3f3504f3u);
    float c = k > 0 ? 1.0f - (u - xc) : xc - (u - 1.0f);
    c = c / u;
    float y = sg_log1p_core(m - 1.0f, (float)k, c);
    y = x == -1.0f ? -__builtin_inff() : y;
    y = x < -1.0f ? __builtin_nanf("") : y;
    y = x == __builtin_inff() ? x : y;
    return x != x ? x : y;
}

/* softplus(x) = log1p(e^-|x|) + max(x, 0). */
SG_INLINE float sg_softplusf(float x) {
    float y = sg_log1pf(sg_expneg(sg_fabsf(x))) + (x > 0.0f ? x : 0.0f);
    return x != x ? x : y;
}

/* ---- helpers in double (float32 results) ---- */

#define SG_TRIG_MAX 1.0e6f

/* sin (cos when which = 1) of a float with |x| <= SG_TRIG_MAX, in double. */
SG_INLINE float sg_sincosf(float xf, int which) {
    double x = (double)xf;
    double n = __builtin_rint(x * 0.63661977236758134308);
    double r = x - n * 1.57079632673412561417e+00;  /* pi/2 in three parts, the first two */
    r = r - n * 6.07710050650619224932e-11;        /* exact for |n| < 2^20 */
    r = r - n * 2.02226624871116645580e-21;
    uint64_t q = sg_dbits(n + 6755399441055744.0) + (uint64_t)which; /* low bits: n mod 2^51 */
    double z = r * r;
    double s;
    {
        /* odd polynomial: r - r^3/3! + r^5/5! - ... + r^13/13! */
        double p = 1.0 / 6227020800.0;
        p = p * z - 1.0 / 39916800.0;
        p = p * z + 1.0 / 362880.0;
        p = p * z - 1.0 / 5040.0;
        p = p * z + 1.0 / 120.0;
        p = p * z - 1.0 / 6.0;
        s = r + r * z * p;
    }
    double c = 1.0 / 20922789888000.0;             /* 1/16!: even polynomial */
    c = c * z - 1.0 / 87178291200.0;
    c = c * z + 1.0 / 479001600.0;
    c = c * z - 1.0 / 3628800.0;
    c = c * z + 1.0 / 40320.0;
    c = c * z - 1.0 / 720.0;
    c = c * z + 1.0 / 24.0;
    c = c * z - 0.5;
    c = 1.0 + z * c;
    double v = (q & 1) ? c : s;
    v = (q & 2) ? -v : v;
    return (float)v;
}

/* e^x in double for x in [-745, 709] (used by erfc; Taylor to degree 12). */
SG_INLINE double sg_exp_d(double x) {
    double xc = x > -745.0 ? x : -745.0;
    double n = __builtin_rint(xc * 1.4426950408889634);
    double r = xc - n * 0.693147180369123816490;   /* ln2 split (hi has 32 bits) */
    r = r - n * 1.90821492927058770002e-10;
    double p = 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    double n1 = __builtin_floor(n * 0.5), n2 = n - n1;      /* each in [-538, 512]: normal */
    double s1 = sg_bitsd(sg_dbits(n1 + (1023.0 + 6755399441055744.0)) << 52);
    double s2 = sg_bitsd(sg_dbits(n2 + (1023.0 + 6755399441055744.0)) << 52);
    return p * s1 * s2;
}

/* Fitted in double (relative least squares on Chebyshev nodes against mpmath):
   erf(a) = a * A(a^2) on [0, 1] (error 1e-12);  a e^(a^2) erfc(a) = B(1/a) on [1, 3] (1e-11),
   = C(1/a) on [3, 10.5] (2e-12). */
static const double SG_ERF_A[9] = {1.1283791670951449, -0.37612638892483663, 0.11283791350619823, -0.026866135878959804, 0.0052237921301822544, -0.00085427973502109325, 0.00011958228469288706, -1.3918572029296601e-05, 1.0610451158409679e-06};
static const double SG_ERFC_B[13] = {0.56432387486582336, -0.003105482918311267, -0.24974503747902249, -0.19856942834578564, 1.2051578454010521, -1.9755372336768715, 1.7561693194367098, -0.6977269846819758, -0.28827610259410907, 0.57831318366521722, -0.36210455907674099, 0.11371437783054945, -0.015030196275211389};
static const double SG_ERFC_C[11] = {0.56418951921973959, 4.3039332677588527e-06, -0.28222218709299024, 0.0021963908600676351, 0.39875038293112552, 0.18148352155298395, -1.9616492329174267, 2.8487629683145852, -0.80780581318153655, -1.8705539757169851, 1.5309334582852578};

/* erfc(a) for a >= 1 (a <= 10.5; beyond, erfc underflows float32 anyway). */
SG_INLINE double sg_erfc_big(double a) {
    double ac = a < 10.5 ? a : 10.5;
    double u = 1.0 / ac;
    double pb = SG_ERFC_B[12];
    for (int k = 11; k >= 0; k--) pb = pb * u + SG_ERFC_B[k];
    double pc = SG_ERFC_C[10];
    for (int k = 9; k >= 0; k--) pc = pc * u + SG_ERFC_C[k];
    double g = ac < 3.0 ? pb : pc;
    double y = sg_exp_d(-ac * ac) * g * u;
    return a < 10.5 ? y : 0.0;
}

SG_INLINE double sg_erf_small(double a) {
    double z = a * a;
    double p = SG_ERF_A[8];
    for (int k = 7; k >= 0; k--) p = p * z + SG_ERF_A[k];
    return a * p;
}

SG_INLINE float sg_erff(float xf) {
    double x = (double)xf;
    double a = __builtin_fabs(x);
    double ac = a < 1.0 ? a : 1.0;                  /* NaN -> 1 */
    double ab = a > 1.0 ? a : 1.0;
    double y = a < 1.0 ? sg_erf_small(ac) : 1.0 - sg_erfc_big(ab);
    y = x < 0 ? -y : y;
    return xf != xf ? xf : (float)y;
}

/* gelu(x) = x/2 * erfc(-x/sqrt2), accurate in both tails. */
SG_INLINE float sg_geluf(float xf) {
    double x = (double)xf;
    double t = -x * 0.70710678118654752440;
    double a = __builtin_fabs(t);
    double ac = a < 1.0 ? a : 1.0;
    double ab = a > 1.0 ? a : 1.0;
    double small = 1.0 - (t < 0 ? -sg_erf_small(ac) : sg_erf_small(ac));
    double big = sg_erfc_big(ab);
    big = t < 0 ? 2.0 - big : big;
    double e = a < 1.0 ? small : big;
    double y = e == 0.0 ? -0.0 : 0.5 * x * e;
    return xf != xf ? xf : (float)y;
}
#endif
