/* Narrow storage formats: the values a cast to float16, bfloat16, the float8/float4 formats,
 * float8 E8M0 or a narrow integer type (and back) gives, and their bit encodings.
 *
 * SymGraph computes in float32/float64/int32/int64; a narrow format is emulated by rounding
 * (floats) or wrapping (integers) a wider value to the set the format can represent, so
 * every value stays exactly representable in it. This file is the one place that knows the
 * formats' layouts (docs/onnx.md, "Narrow element types").
 */
#include "CKernels.h"
#include <math.h>
#include <string.h>

/* A binary floating-point format: 1 sign bit (except E8M0), `ebits` exponent bits with
   `bias`, `mbits` fraction bits. Subnormals below 2^(1 - bias). */
typedef struct {
    int ebits, mbits, bias;
    double maxv;      /* largest finite value */
    int has_inf;      /* IEEE infinities (all-ones exponent, zero fraction) */
    int nan_kind;     /* 0: none, 1: IEEE (all-ones exponent, fraction != 0),
                         2: all-ones exponent and fraction only (E4M3FN), 3: the negative-zero code (FNUZ) */
} sg_float_format;

static const sg_float_format sg_formats[] = {
    [SG_NF_F16] = {5, 10, 15, 65504.0, 1, 1},
    [SG_NF_BF16] = {8, 7, 127, 3.3895313892515355e38, 1, 1},
    [SG_NF_E4M3FN] = {4, 3, 7, 448.0, 0, 2},
    [SG_NF_E4M3FNUZ] = {4, 3, 8, 240.0, 0, 3},
    [SG_NF_E5M2] = {5, 2, 15, 57344.0, 1, 1},
    [SG_NF_E5M2FNUZ] = {5, 2, 16, 57344.0, 0, 3},
    [SG_NF_E2M1] = {2, 1, 1, 6.0, 0, 0},
};

static int sg_kind(int32_t format) { return format & 31; }

/* E8M0 (an unsigned power of two 2^(e - 127), 0xFF = NaN) from a float32's exponent field,
   rounding the fraction up, to nearest or down (ONNX's to_float8e8m0). Returns the code. */
static uint32_t sg_e8m0_code(int32_t format, double x) {
    float f = (float)x;
    uint32_t b;
    memcpy(&b, &f, 4);
    uint32_t e = (b >> 23) & 0xFF;
    if (e == 0xFF) return 0xFF;
    int saturate = (format & SG_NF_SATURATE) != 0;
    int up = 0;
    if (format & SG_NF_ROUND_NEAREST) {
        int g = (b & 0x400000) != 0, r = (b & 0x200000) != 0, s = (b & 0x1FFFFF) != 0, lsb = e > 0;
        up = g && (r || s || lsb);
    } else if (!(format & SG_NF_ROUND_DOWN)) {
        up = (b & 0x7FFFFF) != 0;
    }
    if (up && !(saturate && e == 0xFE)) e++;
    return e;
}

double sg_narrow_round(int32_t format, double x) {
    int kind = sg_kind(format);
    if (kind == SG_NF_E8M0) {
        uint32_t e = sg_e8m0_code(format, x);
        return e == 0xFF ? NAN : ldexp(1.0, (int)e - 127);
    }
    if (kind > SG_NF_E2M1) return x;
    const sg_float_format *f = &sg_formats[kind];
    int neg = signbit(x) != 0;
    if (x != x) {
        /* E2M1 has no NaN: a NaN becomes a zero of the opposite sign (as ml_dtypes does). */
        return f->nan_kind == 0 ? (neg ? 0.0 : -0.0) : x;
    }
    /* Overflow: saturating casts (and formats without infinity or NaN) clamp to the largest
       finite value; otherwise infinity where the format has it, NaN where it does not. */
    int saturate = (format & SG_NF_SATURATE) != 0 || (!f->has_inf && f->nan_kind == 0);
    double over = saturate ? f->maxv : (f->has_inf ? INFINITY : NAN);
    double a = fabs(x), r;
    if (isinf(a)) {
        r = over;
    } else if (a == 0) {
        r = 0;
    } else {
        int e;
        frexp(a, &e); /* a = m 2^e, m in [0.5, 1): a's binary exponent is e - 1 */
        int emin = 1 - f->bias;
        int exp = e - 1 < emin ? emin : e - 1;
        double ulp = ldexp(1.0, exp - f->mbits);
        r = rint(a / ulp) * ulp; /* exact scaling; rint rounds half to even */
        if (r > f->maxv) r = over;
    }
    if (r == 0 && f->nan_kind == 3) return 0.0; /* FNUZ formats have no negative zero */
    return neg ? -r : r;
}

int64_t sg_narrow_wrap(int32_t format, int64_t x) {
    switch (sg_kind(format)) {
    case SG_NF_I8: return (int8_t)(uint8_t)(uint64_t)x;
    case SG_NF_U8: return (uint8_t)(uint64_t)x;
    case SG_NF_I16: return (int16_t)(uint16_t)(uint64_t)x;
    case SG_NF_U16: return (uint16_t)(uint64_t)x;
    case SG_NF_I4: return (int64_t)(((uint64_t)x & 0xF) ^ 0x8) - 8;
    case SG_NF_U4: return (int64_t)((uint64_t)x & 0xF);
    case SG_NF_I2: return (int64_t)(((uint64_t)x & 0x3) ^ 0x2) - 2;
    case SG_NF_U2: return (int64_t)((uint64_t)x & 0x3);
    case SG_NF_U32: return (int64_t)(uint32_t)(uint64_t)x;
    default: return x;
    }
}

uint32_t sg_narrow_encode(int32_t format, double x) {
    int kind = sg_kind(format);
    if (kind == SG_NF_E8M0) return sg_e8m0_code(format, x);
    if (kind > SG_NF_E2M1) {
        /* Integers: truncate toward zero (NaN to 0, saturating at the int64 bounds), then wrap. */
        int64_t v = x != x ? 0 : (x >= 9223372036854775807.0 ? INT64_MAX : (x <= -9223372036854775808.0 ? INT64_MIN : (int64_t)x));
        return (uint32_t)(uint64_t)sg_narrow_wrap(format, v);
    }
    const sg_float_format *f = &sg_formats[kind];
    double r = sg_narrow_round(format, x);
    int width = 1 + f->ebits + f->mbits;
    uint32_t sign = signbit(r) ? 1u << (width - 1) : 0;
    uint32_t all_e = (1u << f->ebits) - 1, all_m = (1u << f->mbits) - 1;
    if (r != r) {
        switch (f->nan_kind) {
        case 1: return sign | all_e << f->mbits | 1u << (f->mbits - 1);
        case 2: return sign | all_e << f->mbits | all_m;
        default: return 1u << (width - 1);
        }
    }
    if (isinf(r)) return sign | all_e << f->mbits;
    double a = fabs(r);
    if (a == 0) return sign;
    int e;
    frexp(a, &e);
    int emin = 1 - f->bias;
    if (e - 1 < emin) return sign | (uint32_t)ldexp(a, f->mbits - emin); /* subnormal */
    uint32_t mant = (uint32_t)(ldexp(a, f->mbits - (e - 1)) - ldexp(1.0, f->mbits));
    return sign | (uint32_t)(e - 1 + f->bias) << f->mbits | mant;
}

double sg_narrow_decode(int32_t format, uint32_t bits) {
    int kind = sg_kind(format);
    if (kind == SG_NF_E8M0) return (bits & 0xFF) == 0xFF ? NAN : ldexp(1.0, (int)(bits & 0xFF) - 127);
    if (kind > SG_NF_E2M1) return (double)sg_narrow_wrap(format, (int64_t)bits);
    const sg_float_format *f = &sg_formats[kind];
    int width = 1 + f->ebits + f->mbits;
    bits &= (1u << width) - 1;
    uint32_t all_e = (1u << f->ebits) - 1, all_m = (1u << f->mbits) - 1;
    int neg = (bits >> (width - 1)) & 1;
    uint32_t e = (bits >> f->mbits) & all_e, m = bits & all_m;
    if (f->nan_kind == 3 && bits == 1u << (width - 1)) return NAN;
    if (e == all_e) {
        if (f->nan_kind == 1) return m ? NAN : (neg ? -INFINITY : INFINITY);
        if (f->nan_kind == 2 && m == all_m) return NAN;
    }
    double v = e == 0 ? ldexp((double)m, 1 - f->bias - f->mbits)
                      : ldexp((double)(m | 1u << f->mbits), (int)e - f->bias - f->mbits);
    return neg ? -v : v;
}

void sg_narrow_f32(int32_t format, const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = (float)sg_narrow_round(format, (double)x[i]);
}
void sg_narrow_f64(int32_t format, const double *x, double *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = sg_narrow_round(format, x[i]);
}
void sg_narrow_i32(int32_t format, const int32_t *x, int32_t *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = (int32_t)sg_narrow_wrap(format, x[i]);
}
void sg_narrow_i64(int32_t format, const int64_t *x, int64_t *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = sg_narrow_wrap(format, x[i]);
}
