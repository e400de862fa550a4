/* SymGraph elementwise kernels.
 *
 * Every hot loop is a plain C loop over contiguous elements that clang auto-vectorizes;
 * the entry points are compiled three times (AVX-512, AVX2, baseline) with target_clones
 * and picked at load time by the CPU, so no machine-specific build flags are needed.
 * The float32 transcendental functions are our own branch-free approximations (see
 * docs/performance.md for their measured accuracy); float64 ones call libm.
 */
#include "CKernels.h"
#include "approx.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
/* Sanitizer runtimes start after the loader runs ifunc resolvers: no clones under sanitizers. */
#define SG_NO_CLONES 1
#endif
#endif
#if defined(__x86_64__) && defined(__clang__) && !defined(SG_NO_CLONES)
#define SG_CLONES __attribute__((target_clones("avx512f", "arch=haswell", "default")))
#else
#define SG_CLONES
#endif

const char *sg_kernels_cpu_level(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "avx512f";
    if (__builtin_cpu_supports("avx2")) return "avx2";
    return "sse2";
#else
    return "generic";
#endif
}

/* A vectorizable elementwise loop: `i` is the index, the body assigns Y[i].
   assume_safety: iterations are independent (outputs may alias inputs only index by index). */
#define SG_LOOP(n, body) \
    _Pragma("clang loop vectorize(assume_safety) interleave(enable)") \
    for (int64_t i = 0; i < (n); i++) { body; }

/* ---------------------------------------------------------------- unary */

static inline float sg_sign_f(float x) { return x > 0 ? 1.0f : (x < 0 ? -1.0f : x); }
static inline double sg_sign_d(double x) { return x > 0 ? 1.0 : (x < 0 ? -1.0 : x); }

SG_CLONES
static void unary_f32(int32_t op, const float *X, float *Y, int64_t n, float p) {
    switch (op) {
    case SG_NEG: SG_LOOP(n, Y[i] = -X[i]) break;
    case SG_ABS: SG_LOOP(n, Y[i] = sg_fabsf(X[i])) break;
    case SG_SIGN: SG_LOOP(n, Y[i] = sg_sign_f(X[i])) break;
    case SG_EXP: SG_LOOP(n, Y[i] = sg_expf(X[i])) break;
    case SG_LOG: SG_LOOP(n, Y[i] = sg_logf(X[i])) break;
    case SG_LOG1P: SG_LOOP(n, Y[i] = sg_log1pf(X[i])) break;
    case SG_EXPM1: SG_LOOP(n, Y[i] = sg_expm1f(X[i])) break;
    case SG_SQRT: SG_LOOP(n, Y[i] = __builtin_elementwise_sqrt(X[i])) break;
    case SG_RSQRT: SG_LOOP(n, Y[i] = 1.0f / __builtin_elementwise_sqrt(X[i])) break;
    case SG_SQUARE: SG_LOOP(n, Y[i] = X[i] * X[i]) break;
    case SG_RECIP: SG_LOOP(n, Y[i] = 1.0f / X[i]) break;
    case SG_SIN: case SG_COS: {
        /* Large arguments (|x| > 2^20) need a full argument reduction: libm for those blocks. */
        int big = 0;
        for (int64_t i = 0; i < n; i++) big |= !(sg_fabsf(X[i]) <= SG_TRIG_MAX);
        if (big) {
            if (op == SG_SIN) { for (int64_t i = 0; i < n; i++) Y[i] = (float)sin((double)X[i]); }
            else { for (int64_t i = 0; i < n; i++) Y[i] = (float)cos((double)X[i]); }
        } else if (op == SG_SIN) {
            SG_LOOP(n, Y[i] = sg_sincosf(X[i], 0))
        } else {
            SG_LOOP(n, Y[i] = sg_sincosf(X[i], 1))
        }
        break;
    }
    case SG_TANH: SG_LOOP(n, Y[i] = sg_tanhf(X[i])) break;
    case SG_SIGMOID: SG_LOOP(n, Y[i] = sg_sigmoidf(X[i])) break;
    case SG_RELU: SG_LOOP(n, Y[i] = X[i] > 0 ? X[i] : (X[i] != X[i] ? X[i] : 0.0f)) break;
    case SG_LEAKY_RELU: SG_LOOP(n, Y[i] = X[i] > 0 ? X[i] : p * X[i]) break;
    case SG_ELU: SG_LOOP(n, Y[i] = X[i] > 0 ? X[i] : p * sg_expm1f(X[i])) break;
    case SG_SOFTPLUS: SG_LOOP(n, Y[i] = sg_softplusf(X[i])) break;
    case SG_ERF: SG_LOOP(n, Y[i] = sg_erff(X[i])) break;
    case SG_GELU: SG_LOOP(n, Y[i] = sg_geluf(X[i])) break;
    case SG_FLOOR: SG_LOOP(n, Y[i] = __builtin_floorf(X[i])) break;
    case SG_CEIL: SG_LOOP(n, Y[i] = __builtin_ceilf(X[i])) break;
    case SG_ROUND: SG_LOOP(n, Y[i] = __builtin_rintf(X[i])) break;
    default: SG_LOOP(n, Y[i] = X[i]) break;
    }
}

static inline double sg_sigmoid_d(double x) {
    double e = exp(-fabs(x));
    double s = 1.0 / (1.0 + e);
    return x >= 0 ? s : e * s;
}
static inline double sg_softplus_d(double x) { return log1p(exp(-fabs(x))) + (x > 0 ? x : 0.0); }

SG_CLONES
static void unary_f64(int32_t op, const double *X, double *Y, int64_t n, double p) {
    switch (op) {
    case SG_NEG: SG_LOOP(n, Y[i] = -X[i]) break;
    case SG_ABS: SG_LOOP(n, Y[i] = __builtin_fabs(X[i])) break;
    case SG_SIGN: SG_LOOP(n, Y[i] = sg_sign_d(X[i])) break;
    case SG_EXP: for (int64_t i = 0; i < n; i++) Y[i] = exp(X[i]); break;
    case SG_LOG: for (int64_t i = 0; i < n; i++) Y[i] = log(X[i]); break;
    case SG_LOG1P: for (int64_t i = 0; i < n; i++) Y[i] = log1p(X[i]); break;
    case SG_EXPM1: for (int64_t i = 0; i < n; i++) Y[i] = expm1(X[i]); break;
    case SG_SQRT: SG_LOOP(n, Y[i] = __builtin_elementwise_sqrt(X[i])) break;
    case SG_RSQRT: SG_LOOP(n, Y[i] = 1.0 / __builtin_elementwise_sqrt(X[i])) break;
    case SG_SQUARE: SG_LOOP(n, Y[i] = X[i] * X[i]) break;
    case SG_RECIP: SG_LOOP(n, Y[i] = 1.0 / X[i]) break;
    case SG_SIN: for (int64_t i = 0; i < n; i++) Y[i] = sin(X[i]); break;
    case SG_COS: for (int64_t i = 0; i < n; i++) Y[i] = cos(X[i]); break;
    case SG_TANH: for (int64_t i = 0; i < n; i++) Y[i] = tanh(X[i]); break;
    case SG_SIGMOID: for (int64_t i = 0; i < n; i++) Y[i] = sg_sigmoid_d(X[i]); break;
    case SG_RELU: SG_LOOP(n, Y[i] = X[i] > 0 ? X[i] : (X[i] != X[i] ? X[i] : 0.0)) break;
    case SG_LEAKY_RELU: SG_LOOP(n, Y[i] = X[i] > 0 ? X[i] : p * X[i]) break;
    case SG_ELU: for (int64_t i = 0; i < n; i++) Y[i] = X[i] > 0 ? X[i] : p * expm1(X[i]); break;
    case SG_SOFTPLUS: for (int64_t i = 0; i < n; i++) Y[i] = sg_softplus_d(X[i]); break;
    case SG_ERF: for (int64_t i = 0; i < n; i++) Y[i] = erf(X[i]); break;
    case SG_GELU: for (int64_t i = 0; i < n; i++) Y[i] = X[i] == -INFINITY ? -0.0 : 0.5 * X[i] * erfc(-X[i] / 1.41421356237309504880); break;
    case SG_FLOOR: SG_LOOP(n, Y[i] = __builtin_floor(X[i])) break;
    case SG_CEIL: SG_LOOP(n, Y[i] = __builtin_ceil(X[i])) break;
    case SG_ROUND: SG_LOOP(n, Y[i] = __builtin_rint(X[i])) break;
    default: SG_LOOP(n, Y[i] = X[i]) break;
    }
}

/* Integer unary ops wrap on overflow (computed in unsigned arithmetic). */
#define SG_INT_UNARY(NAME, T, UT) \
SG_CLONES static void NAME(int32_t op, const T *X, T *Y, int64_t n) { \
    switch (op) { \
    case SG_NEG: SG_LOOP(n, Y[i] = (T)(0u - (UT)X[i])) break; \
    case SG_ABS: SG_LOOP(n, Y[i] = X[i] < 0 ? (T)(0u - (UT)X[i]) : X[i]) break; \
    case SG_SIGN: SG_LOOP(n, Y[i] = (T)((X[i] > 0) - (X[i] < 0))) break; \
    case SG_SQUARE: SG_LOOP(n, Y[i] = (T)((UT)X[i] * (UT)X[i])) break; \
    case SG_RELU: SG_LOOP(n, Y[i] = X[i] > 0 ? X[i] : 0) break; \
    case SG_BNOT: SG_LOOP(n, Y[i] = (T)~(UT)X[i]) break; \
    default: if (X != Y) memmove(Y, X, (size_t)n * sizeof(T)); break; \
    } \
}
SG_INT_UNARY(unary_i32, int32_t, uint32_t)
SG_INT_UNARY(unary_i64, int64_t, uint64_t)

SG_CLONES
static void unary_bool(int32_t op, const uint8_t *X, uint8_t *Y, int64_t n) {
    if (op == SG_NOT) { SG_LOOP(n, Y[i] = X[i] == 0) }
    else { SG_LOOP(n, Y[i] = X[i] != 0) }
}

void sg_unary(int32_t op, int32_t dtype, const void *x, void *y, int64_t n, double param) {
    if (op == SG_NARROW) {
        int32_t format = (int32_t)param;
        switch (dtype) {
        case SG_F32: sg_narrow_f32(format, (const float *)x, (float *)y, n); return;
        case SG_F64: sg_narrow_f64(format, (const double *)x, (double *)y, n); return;
        case SG_I32: sg_narrow_i32(format, (const int32_t *)x, (int32_t *)y, n); return;
        case SG_I64: sg_narrow_i64(format, (const int64_t *)x, (int64_t *)y, n); return;
        default: break;
        }
    }
    switch (dtype) {
    case SG_F32: unary_f32(op, (const float *)x, (float *)y, n, (float)param); break;
    case SG_F64: unary_f64(op, (const double *)x, (double *)y, n, param); break;
    case SG_I32: unary_i32(op, (const int32_t *)x, (int32_t *)y, n); break;
    case SG_I64: unary_i64(op, (const int64_t *)x, (int64_t *)y, n); break;
    default: unary_bool(op, (const uint8_t *)x, (uint8_t *)y, n); break;
    }
}

/* ---------------------------------------------------------------- binary */

/* Float binary ops; comparisons write bytes (0/1). maximum/minimum propagate NaN. */
#define SG_FLOAT_BINARY(NAME, T, POW) \
SG_CLONES static void NAME(int32_t op, const T *A, const T *B, void *out, int64_t n) { \
    T *Y = (T *)out; uint8_t *Z = (uint8_t *)out; \
    switch (op) { \
    case SG_ADD: SG_LOOP(n, Y[i] = A[i] + B[i]) break; \
    case SG_SUB: SG_LOOP(n, Y[i] = A[i] - B[i]) break; \
    case SG_MUL: SG_LOOP(n, Y[i] = A[i] * B[i]) break; \
    case SG_DIV: SG_LOOP(n, Y[i] = A[i] / B[i]) break; \
    case SG_POW: for (int64_t i = 0; i < n; i++) Y[i] = POW(A[i], B[i]); break; \
    case SG_MAX: SG_LOOP(n, T a = A[i]; T b = B[i]; Y[i] = (a != a || b != b) ? a + b : (a > b ? a : b)) break; \
    case SG_MIN: SG_LOOP(n, T a = A[i]; T b = B[i]; Y[i] = (a != a || b != b) ? a + b : (a < b ? a : b)) break; \
    case SG_EQ: SG_LOOP(n, Z[i] = A[i] == B[i]) break; \
    case SG_NE: SG_LOOP(n, Z[i] = A[i] != B[i]) break; \
    case SG_LT: SG_LOOP(n, Z[i] = A[i] < B[i]) break; \
    case SG_LE: SG_LOOP(n, Z[i] = A[i] <= B[i]) break; \
    case SG_GT: SG_LOOP(n, Z[i] = A[i] > B[i]) break; \
    case SG_GE: SG_LOOP(n, Z[i] = A[i] >= B[i]) break; \
    case SG_AND: SG_LOOP(n, Z[i] = (A[i] != 0) & (B[i] != 0)) break; \
    default: SG_LOOP(n, Z[i] = (A[i] != 0) | (B[i] != 0)) break; \
    } \
}
SG_FLOAT_BINARY(binary_f32, float, powf)
SG_FLOAT_BINARY(binary_f64, double, pow)

/* Integer binary ops: wrapping add/sub/mul; division truncates toward zero, x/0 = 0 and
   MIN/-1 = MIN (no trap). pow (not allowed by the builder) is computed in double. */
#define SG_INT_BINARY(NAME, T, UT, TMIN) \
static inline T NAME##_div(T a, T b) { return b == 0 ? 0 : (b == -1 ? (T)(0u - (UT)a) : a / b); } \
SG_CLONES static void NAME(int32_t op, const T *A, const T *B, void *out, int64_t n) { \
    T *Y = (T *)out; uint8_t *Z = (uint8_t *)out; \
    switch (op) { \
    case SG_ADD: SG_LOOP(n, Y[i] = (T)((UT)A[i] + (UT)B[i])) break; \
    case SG_SUB: SG_LOOP(n, Y[i] = (T)((UT)A[i] - (UT)B[i])) break; \
    case SG_MUL: SG_LOOP(n, Y[i] = (T)((UT)A[i] * (UT)B[i])) break; \
    case SG_DIV: for (int64_t i = 0; i < n; i++) Y[i] = NAME##_div(A[i], B[i]); break; \
    case SG_POW: for (int64_t i = 0; i < n; i++) Y[i] = (T)sg_sat_i64(pow((double)A[i], (double)B[i])); break; \
    case SG_MAX: SG_LOOP(n, Y[i] = A[i] > B[i] ? A[i] : B[i]) break; \
    case SG_MIN: SG_LOOP(n, Y[i] = A[i] < B[i] ? A[i] : B[i]) break; \
    case SG_EQ: SG_LOOP(n, Z[i] = A[i] == B[i]) break; \
    case SG_NE: SG_LOOP(n, Z[i] = A[i] != B[i]) break; \
    case SG_LT: SG_LOOP(n, Z[i] = A[i] < B[i]) break; \
    case SG_LE: SG_LOOP(n, Z[i] = A[i] <= B[i]) break; \
    case SG_GT: SG_LOOP(n, Z[i] = A[i] > B[i]) break; \
    case SG_GE: SG_LOOP(n, Z[i] = A[i] >= B[i]) break; \
    case SG_BAND: SG_LOOP(n, Y[i] = (T)((UT)A[i] & (UT)B[i])) break; \
    case SG_BOR: SG_LOOP(n, Y[i] = (T)((UT)A[i] | (UT)B[i])) break; \
    case SG_BXOR: SG_LOOP(n, Y[i] = (T)((UT)A[i] ^ (UT)B[i])) break; \
    case SG_SHL: SG_LOOP(n, Y[i] = (B[i] < 0 || B[i] >= (T)(8 * sizeof(T))) ? 0 : (T)((UT)A[i] << B[i])) break; \
    case SG_SHR: SG_LOOP(n, Y[i] = (B[i] < 0 || B[i] >= (T)(8 * sizeof(T))) ? 0 : (T)((UT)A[i] >> B[i])) break; \
    case SG_AND: SG_LOOP(n, Z[i] = (A[i] != 0) & (B[i] != 0)) break; \
    default: SG_LOOP(n, Z[i] = (A[i] != 0) | (B[i] != 0)) break; \
    } \
}
static inline int64_t sg_sat_i64(double x) {
    if (x != x) return 0;
    if (x >= 9223372036854775808.0) return INT64_MAX;
    if (x <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)x;
}
SG_INT_BINARY(binary_i32, int32_t, uint32_t, INT32_MIN)
SG_INT_BINARY(binary_i64, int64_t, uint64_t, INT64_MIN)

/* Bools: any nonzero byte is true; arithmetic ops act as logic (add/max = or, mul/min = and). */
SG_CLONES
static void binary_bool(int32_t op, const uint8_t *A, const uint8_t *B, uint8_t *Z, int64_t n) {
    switch (op) {
    case SG_AND: case SG_MUL: case SG_MIN: SG_LOOP(n, Z[i] = (A[i] != 0) & (B[i] != 0)) break;
    case SG_OR: case SG_ADD: case SG_MAX: SG_LOOP(n, Z[i] = (A[i] != 0) | (B[i] != 0)) break;
    case SG_EQ: SG_LOOP(n, Z[i] = (A[i] != 0) == (B[i] != 0)) break;
    case SG_NE: case SG_SUB: SG_LOOP(n, Z[i] = (A[i] != 0) != (B[i] != 0)) break;
    case SG_LT: SG_LOOP(n, Z[i] = (A[i] == 0) & (B[i] != 0)) break;
    case SG_LE: SG_LOOP(n, Z[i] = (A[i] == 0) | (B[i] != 0)) break;
    case SG_GT: SG_LOOP(n, Z[i] = (A[i] != 0) & (B[i] == 0)) break;
    case SG_GE: SG_LOOP(n, Z[i] = (A[i] != 0) | (B[i] == 0)) break;
    default: SG_LOOP(n, Z[i] = A[i] != 0) break;
    }
}

void sg_binary(int32_t op, int32_t dtype, const void *a, const void *b, void *out, int64_t n) {
    switch (dtype) {
    case SG_F32: binary_f32(op, (const float *)a, (const float *)b, out, n); break;
    case SG_F64: binary_f64(op, (const double *)a, (const double *)b, out, n); break;
    case SG_I32: binary_i32(op, (const int32_t *)a, (const int32_t *)b, out, n); break;
    case SG_I64: binary_i64(op, (const int64_t *)a, (const int64_t *)b, out, n); break;
    default: binary_bool(op, (const uint8_t *)a, (const uint8_t *)b, (uint8_t *)out, n); break;
    }
}

/* ---------------------------------------------------------------- select, cast */

SG_CLONES
void sg_select(const uint8_t *C, const void *a, const void *b, void *out, int64_t n, int32_t elem_size) {
    switch (elem_size) {
    case 1: { const uint8_t *A = a, *B = b; uint8_t *Y = out; SG_LOOP(n, Y[i] = C[i] ? A[i] : B[i]) break; }
    case 4: { const uint32_t *A = a, *B = b; uint32_t *Y = out; SG_LOOP(n, Y[i] = C[i] ? A[i] : B[i]) break; }
    default: { const uint64_t *A = a, *B = b; uint64_t *Y = out; SG_LOOP(n, Y[i] = C[i] ? A[i] : B[i]) break; }
    }
}

/* Float to integer: truncate toward zero, NaN -> 0, saturate at the bounds. */
static inline int32_t sg_f2i32(double x) {
    double c = x > -2147483648.0 ? x : -2147483648.0;
    c = c < 2147483647.0 ? c : 2147483647.0;
    return x != x ? 0 : (int32_t)c;
}
static inline int64_t sg_f2i64(double x) {
    double c = x > -9223372036854775808.0 ? x : -9223372036854775808.0;
    c = c < 9223372036854774784.0 ? c : 9223372036854774784.0; /* largest double below 2^63 */
    return x != x ? 0 : (x >= 9223372036854775808.0 ? INT64_MAX : (int64_t)c);
}
static inline int32_t sg_f2i32f(float x) {
    float c = x > -2147483648.0f ? x : -2147483648.0f;
    c = c < 2147483520.0f ? c : 2147483520.0f; /* largest float below 2^31 */
    return x != x ? 0 : (x >= 2147483648.0f ? INT32_MAX : (int32_t)c);
}

#define SG_CAST_FROM(NAME, T) \
SG_CLONES static void NAME(int32_t to, const T *X, void *y, int64_t n) { \
    switch (to) { \
    case SG_F32: { float *Y = y; SG_LOOP(n, Y[i] = (float)X[i]) break; } \
    case SG_F64: { double *Y = y; SG_LOOP(n, Y[i] = (double)X[i]) break; } \
    case SG_I32: { int32_t *Y = y; SG_LOOP(n, Y[i] = SG_TO_I32(X[i])) break; } \
    case SG_I64: { int64_t *Y = y; SG_LOOP(n, Y[i] = SG_TO_I64(X[i])) break; } \
    default: { uint8_t *Y = y; SG_LOOP(n, Y[i] = X[i] != 0) break; } \
    } \
}
#define SG_TO_I32(v) sg_f2i32f(v)
#define SG_TO_I64(v) sg_f2i64((double)(v))
SG_CAST_FROM(cast_f32, float)
#undef SG_TO_I32
#define SG_TO_I32(v) sg_f2i32(v)
SG_CAST_FROM(cast_f64, double)
#undef SG_TO_I32
#undef SG_TO_I64
#define SG_TO_I32(v) ((int32_t)(uint32_t)(uint64_t)(v))
#define SG_TO_I64(v) ((int64_t)(v))
SG_CAST_FROM(cast_i32, int32_t)
SG_CAST_FROM(cast_i64, int64_t)
#undef SG_TO_I32
#undef SG_TO_I64
#define SG_TO_I32(v) ((int32_t)((v) != 0))
#define SG_TO_I64(v) ((int64_t)((v) != 0))
SG_CLONES static void cast_bool(int32_t to, const uint8_t *X, void *y, int64_t n) {
    switch (to) {
    case SG_F32: { float *Y = y; SG_LOOP(n, Y[i] = X[i] != 0 ? 1.0f : 0.0f) break; }
    case SG_F64: { double *Y = y; SG_LOOP(n, Y[i] = X[i] != 0 ? 1.0 : 0.0) break; }
    case SG_I32: { int32_t *Y = y; SG_LOOP(n, Y[i] = SG_TO_I32(X[i])) break; }
    case SG_I64: { int64_t *Y = y; SG_LOOP(n, Y[i] = SG_TO_I64(X[i])) break; }
    default: { uint8_t *Y = y; SG_LOOP(n, Y[i] = X[i] != 0) break; }
    }
}

void sg_cast(int32_t from, int32_t to, const void *x, void *y, int64_t n) {
    static const int sizes[5] = {4, 8, 4, 8, 1};
    if (from == to && from != SG_BOOL) {
        if (x != y) memmove(y, x, (size_t)n * (size_t)sizes[from]);
        return;
    }
    switch (from) {
    case SG_F32: cast_f32(to, x, y, n); break;
    case SG_F64: cast_f64(to, x, y, n); break;
    case SG_I32: cast_i32(to, x, y, n); break;
    case SG_I64: cast_i64(to, x, y, n); break;
    default: cast_bool(to, x, y, n); break;
    }
}

/* ---------------------------------------------------------------- sums */

SG_CLONES
double sg_sum_f32(const float *x, int64_t n) {
#pragma clang fp reassociate(on)
    double acc = 0;
    for (int64_t i = 0; i < n; i++) acc += (double)x[i];
    return acc;
}

SG_CLONES
double sg_sum_f64(const double *x, int64_t n) {
#pragma clang fp reassociate(on)
    double acc = 0;
    for (int64_t i = 0; i < n; i++) acc += x[i];
    return acc;
}

/* ---------------------------------------------------------------- fused executor */

static const int sg_sizes[5] = {4, 8, 4, 8, 1};

/* Writes `count` copies of a step's constant into dst. */
static void sg_fill_const(const sg_step *s, void *dst, int64_t count) {
    switch (s->dtype) {
    case SG_F32: { float *d = dst; float v = (float)s->param; for (int64_t i = 0; i < count; i++) d[i] = v; break; }
    case SG_F64: { double *d = dst; for (int64_t i = 0; i < count; i++) d[i] = s->param; break; }
    case SG_I32: { int32_t *d = dst; int32_t v = (int32_t)s->iparam; for (int64_t i = 0; i < count; i++) d[i] = v; break; }
    case SG_I64: { int64_t *d = dst; for (int64_t i = 0; i < count; i++) d[i] = s->iparam; break; }
    default: memset(dst, s->iparam != 0, (size_t)count); break;
    }
}

/* Repeats the first element of src (esize bytes) count times into dst. */
static void sg_fill_elem(void *dst, const void *src, int64_t count, int esize) {
    switch (esize) {
    case 1: memset(dst, *(const uint8_t *)src, (size_t)count); break;
    case 4: { uint32_t v; memcpy(&v, src, 4); uint32_t *d = dst; for (int64_t i = 0; i < count; i++) d[i] = v; break; }
    default: { uint64_t v; memcpy(&v, src, 8); uint64_t *d = dst; for (int64_t i = 0; i < count; i++) d[i] = v; break; }
    }
}

/* Gathers output elements [start, start+count) of a broadcast input into dst. */
static void sg_gather(const sg_input *in, int esize, const int64_t *shape, int32_t rank,
                      int64_t start, int64_t count, char *dst) {
    int64_t idx[16];
    int64_t off = 0, rem = start;
    for (int d = rank - 1; d >= 0; d--) {
        idx[d] = rem % shape[d];
        rem /= shape[d];
        off += idx[d] * in->strides[d];
    }
    const char *base = in->ptr;
    int last = rank - 1;
    int64_t st = in->strides[last];
    while (count > 0) {
        int64_t run = shape[last] - idx[last];
        if (run > count) run = count;
        const char *src = base + off * esize;
        if (st == 1) memcpy(dst, src, (size_t)(run * esize));
        else if (st == 0) sg_fill_elem(dst, src, run, esize);
        else {
            for (int64_t j = 0; j < run; j++) memcpy(dst + j * esize, src + j * st * esize, (size_t)esize);
        }
        dst += run * esize;
        count -= run;
        off += run * st;
        idx[last] += run;
        /* carry */
        for (int d = last; d > 0 && idx[d] == shape[d]; d--) {
            off -= shape[d] * in->strides[d];
            idx[d] = 0;
            idx[d - 1] += 1;
            off += in->strides[d - 1];
        }
    }
}

/* Copies n bytes with non-temporal (cache-bypassing) stores where dst is 64-byte aligned:
   the final output of a large fused kernel is not read back soon, and streaming it avoids
   reading every output line into the cache first (20% less memory traffic for W2). */
typedef float sg_v16 __attribute__((vector_size(64), aligned(64)));
typedef float sg_v16u __attribute__((vector_size(64), aligned(4)));
SG_CLONES
static void sg_stream_copy(char *dst, const char *src, int64_t n) {
    int64_t head = (int64_t)((64 - ((uintptr_t)dst & 63)) & 63);
    if (head > n) head = n;
    memcpy(dst, src, (size_t)head);
    dst += head; src += head; n -= head;
    int64_t blocks = n / 64;
    for (int64_t i = 0; i < blocks; i++) {
        sg_v16 v = *(const sg_v16u *)(src + 64 * i);
        __builtin_nontemporal_store(v, (sg_v16 *)(dst + 64 * i));
    }
    memcpy(dst + 64 * blocks, src + 64 * blocks, (size_t)(n - 64 * blocks));
}

int sg_fused_run(const sg_step *steps, int32_t nsteps, const sg_input *inputs, int32_t nslots,
                 void *out, const int64_t *out_shape, int32_t rank, int64_t begin, int64_t end, int32_t stream) {
    if (nsteps <= 0 || end <= begin) return 0;
    if (rank > 16) return -1;
    size_t slot_bytes = (size_t)SG_TILE * 8;
    char *scratch = aligned_alloc(64, slot_bytes * (size_t)(nslots + 1));
    if (!scratch) return -1;
    char *stream_slot = scratch + slot_bytes * (size_t)nslots;
    stream = stream && steps[nsteps - 1].kind >= SG_STEP_UNARY;
    const void *regs_stack[64];
    const void **regs = nsteps <= 64 ? regs_stack : malloc(sizeof(void *) * (size_t)nsteps);
    if (!regs) { free(scratch); return -1; }
    int last = nsteps - 1;
    int out_size = sg_sizes[steps[last].dtype];

    /* Tile-invariant values (constants, scalar inputs) are filled once. */
    for (int s = 0; s < nsteps; s++) {
        const sg_step *st = &steps[s];
        if (!st->pinned || st->slot < 0) continue;
        char *dst = scratch + (size_t)st->slot * slot_bytes;
        if (st->kind == SG_STEP_CONST) sg_fill_const(st, dst, SG_TILE);
        else if (st->kind == SG_STEP_INPUT) {
            const sg_input *in = &inputs[st->a];
            sg_fill_elem(dst, in->ptr, SG_TILE, sg_sizes[st->dtype]);
        }
        regs[s] = dst;
    }

    /* Contiguous inputs, whose next tile is prefetched into L2 a slice per step while this
       tile computes: each tile reads a whole 4 KiB page of every input in one burst, where the
       hardware prefetcher (which stops at page boundaries) cannot run ahead, so without this
       the memory traffic would not overlap the arithmetic. */
    const char *pf_ptr[16];
    int64_t pf_bytes[16];
    int npf = 0;
    for (int s = 0; s < nsteps && npf < 16; s++) {
        if (steps[s].kind != SG_STEP_INPUT || inputs[steps[s].a].mode != 1) continue;
        pf_ptr[npf] = inputs[steps[s].a].ptr;
        pf_bytes[npf] = sg_sizes[steps[s].dtype];
        npf++;
    }

    for (int64_t t0 = begin; t0 < end; t0 += SG_TILE) {
        int64_t n = end - t0 < SG_TILE ? end - t0 : SG_TILE;
        int prefetch = t0 + 2 * SG_TILE <= end;
        for (int s = 0; s < nsteps; s++) {
            if (prefetch) {
                for (int q = 0; q < npf; q++) {
                    int64_t lines = SG_TILE * pf_bytes[q] / 64;
                    int64_t lo = lines * s / nsteps, hi = lines * (s + 1) / nsteps;
                    const char *p = pf_ptr[q] + (t0 + SG_TILE) * pf_bytes[q];
                    for (int64_t b = lo; b < hi; b++) __builtin_prefetch(p + 64 * b, 0, 2);
                }
            }
            const sg_step *st = &steps[s];
            int es = sg_sizes[st->dtype];
            void *dst = s != last ? scratch + (size_t)(st->slot < 0 ? 0 : st->slot) * slot_bytes
                      : (stream ? stream_slot : (char *)out + (t0 - begin) * out_size);
            switch (st->kind) {
            case SG_STEP_INPUT: {
                const sg_input *in = &inputs[st->a];
                if (st->pinned && st->slot >= 0) { if (s == last) sg_fill_elem(dst, in->ptr, n, es); break; }
                if (in->mode == 1) {
                    const char *src = (const char *)in->ptr + t0 * es;
                    if (s == last) { if (dst != src) memmove(dst, src, (size_t)(n * es)); }
                    else regs[s] = src;
                } else if (in->mode == 2) {
                    sg_fill_elem(dst, in->ptr, n, es);
                    regs[s] = dst;
                } else {
                    sg_gather(in, es, out_shape, rank, t0, n, dst);
                    regs[s] = dst;
                }
                break;
            }
            case SG_STEP_CONST:
                if (s == last || !st->pinned) { sg_fill_const(st, dst, n); regs[s] = dst; }
                break;
            case SG_STEP_UNARY:
                sg_unary(st->op, steps[st->a].dtype, regs[st->a], dst, n, st->param);
                regs[s] = dst;
                break;
            case SG_STEP_BINARY:
                sg_binary(st->op, steps[st->a].dtype, regs[st->a], regs[st->b], dst, n);
                regs[s] = dst;
                break;
            case SG_STEP_SELECT:
                sg_select(regs[st->a], regs[st->b], regs[st->c], dst, n, es);
                regs[s] = dst;
                break;
            default: /* SG_STEP_CAST */
                sg_cast(steps[st->a].dtype, st->dtype, regs[st->a], dst, n);
                regs[s] = dst;
                break;
            }
        }
        if (stream) sg_stream_copy((char *)out + (t0 - begin) * out_size, stream_slot, n * out_size);
    }
#if defined(__x86_64__)
    if (stream) __builtin_ia32_sfence();
#endif
    if (regs != regs_stack) free(regs);
    free(scratch);
    return 0;
}
