#ifndef SYMGRAPH_CKERNELS_H
#define SYMGRAPH_CKERNELS_H
/* Hot elementwise kernels, compiled for several CPU levels with runtime dispatch
   (target_clones), so the package needs no machine-specific build flags. */
#include <stddef.h>
#include <stdint.h>

/** Returns the name of the CPU level the dispatcher chose (for reports). */
const char *sg_kernels_cpu_level(void);

/* dtype codes (match the Swift side): */
enum { SG_F32 = 0, SG_F64 = 1, SG_I32 = 2, SG_I64 = 3, SG_BOOL = 4 };

/* unary function codes */
enum {
    SG_NEG = 0, SG_ABS, SG_SIGN, SG_EXP, SG_LOG, SG_LOG1P, SG_EXPM1, SG_SQRT, SG_RSQRT, SG_SQUARE,
    SG_RECIP, SG_SIN, SG_COS, SG_TANH, SG_SIGMOID, SG_RELU, SG_LEAKY_RELU, SG_ELU, SG_SOFTPLUS,
    SG_ERF, SG_GELU, SG_FLOOR, SG_CEIL, SG_ROUND, SG_NOT,
    SG_NARROW, /* param: a narrow format code (SG_NF_*, plus flags) */
    SG_BNOT
};

/* binary function codes */
enum {
    SG_ADD = 0, SG_SUB, SG_MUL, SG_DIV, SG_POW, SG_MAX, SG_MIN, SG_EQ, SG_NE, SG_LT, SG_LE, SG_GT, SG_GE,
    SG_AND, SG_OR, SG_BAND, SG_BOR, SG_BXOR, SG_SHL, SG_SHR
};

/* step kinds of a fused program */
enum { SG_STEP_INPUT = 0, SG_STEP_CONST, SG_STEP_UNARY, SG_STEP_BINARY, SG_STEP_SELECT, SG_STEP_CAST };

/** One instruction of a fused program. */
typedef struct {
    int32_t kind;   /* SG_STEP_* */
    int32_t op;     /* SG_* function code (unary/binary) */
    int32_t dtype;  /* result dtype */
    int32_t a, b, c;/* operand steps (input index for SG_STEP_INPUT) */
    int32_t slot;   /* scratch slot for the result (-1 for the last step) */
    int32_t pinned; /* 1: value is tile-invariant (constant, scalar input), filled once */
    double param;   /* constant value, or alpha of leakyRelu / elu */
    int64_t iparam; /* constant value for integer dtypes */
} sg_step;

/** One fused input, viewed as broadcast to the output shape. */
typedef struct {
    const void *ptr;
    const int64_t *strides; /* element strides over the output axes (0: broadcast) */
    int32_t mode;           /* 0: general strided, 1: contiguous (output's shape), 2: scalar */
    int32_t dtype;
} sg_input;

/** Elements per tile of the fused executor. */
#ifndef SG_TILE
#define SG_TILE 1024
#endif

/** Runs a fused program on output elements [begin, end); `out` points at element `begin`. `nslots` scratch slots of SG_TILE
    elements of at most 8 bytes are allocated internally. `stream` != 0 writes the output with
    non-temporal stores (for outputs much larger than the caches). Returns 0, or -1 when out
    of memory. */
int sg_fused_run(const sg_step *steps, int32_t nsteps, const sg_input *inputs, int32_t nslots,
                 void *out, const int64_t *out_shape, int32_t rank, int64_t begin, int64_t end, int32_t stream);

/** y = f(x) over n contiguous elements of dtype (y may equal x). */
void sg_unary(int32_t op, int32_t dtype, const void *x, void *y, int64_t n, double param);
/** out = f(a, b) over n contiguous elements; dtype is the input dtype (y may equal a or b). */
void sg_binary(int32_t op, int32_t dtype, const void *a, const void *b, void *out, int64_t n);
/** out = c ? a : b over n elements of elem_size bytes. */
void sg_select(const uint8_t *c, const void *a, const void *b, void *out, int64_t n, int32_t elem_size);
/** Converts n elements. */
void sg_cast(int32_t from, int32_t to, const void *x, void *y, int64_t n);

/* Narrow storage formats (match NarrowFormat.Kind on the Swift side), emulated in wider types. */
enum {
    SG_NF_F16 = 0, SG_NF_BF16, SG_NF_E4M3FN, SG_NF_E4M3FNUZ, SG_NF_E5M2, SG_NF_E5M2FNUZ, SG_NF_E2M1, SG_NF_E8M0,
    SG_NF_I8, SG_NF_U8, SG_NF_I16, SG_NF_U16, SG_NF_I4, SG_NF_U4, SG_NF_I2, SG_NF_U2, SG_NF_U32
};
/* Flags added to a format code: overflow clamps to the largest finite value (float8 formats);
   E8M0 rounding to nearest or down (the default rounds up). */
#define SG_NF_SATURATE 32
#define SG_NF_ROUND_NEAREST 64
#define SG_NF_ROUND_DOWN 128

/** The value a cast of x to a narrow float format and back gives (x itself for integer formats). */
double sg_narrow_round(int32_t format, double x);
/** The value a cast of x to a narrow integer type and back gives (wraps around). */
int64_t sg_narrow_wrap(int32_t format, int64_t x);
/** The bits of x (rounded or wrapped first) in the narrow format, in the low bits. */
uint32_t sg_narrow_encode(int32_t format, double x);
/** The value of the bits of a narrow format. */
double sg_narrow_decode(int32_t format, uint32_t bits);
/** y = narrow(x) over n elements (y may equal x). */
void sg_narrow_f32(int32_t format, const float *x, float *y, int64_t n);
void sg_narrow_f64(int32_t format, const double *x, double *y, int64_t n);
void sg_narrow_i32(int32_t format, const int32_t *x, int32_t *y, int64_t n);
void sg_narrow_i64(int32_t format, const int64_t *x, int64_t *y, int64_t n);

/** Sum of n floats accumulated in double. */
double sg_sum_f32(const float *x, int64_t n);
/** Sum of n doubles. */
double sg_sum_f64(const double *x, int64_t n);
#endif
