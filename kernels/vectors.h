// vectors.h: VEC-wide float vectors for the kernels that include it (VEC must be defined first: 1, 2, 4, 8 or 16).
//   vec_t, ivec_t      floatVEC and intVEC (float and int when VEC is 1)
//   VLOAD, VSTORE      vloadVEC / vstoreVEC
//   HSUM, HMAX         horizontal sum and maximum of a vec_t
//   IOTA               (0, 1, ..., VEC-1) as an ivec_t
//   FOR_LANES(M)       M(0) ... M(f): one expansion per lane, LANE(x, L) reads lane L of x
//   cvec_t, ucvec_t,   charVEC, ucharVEC, ushortVEC, uintVEC (the stored formats of weights.h)
//   usvec_t, uvec_t
//   CONVERT_VEC(x)     convert_floatVEC; CONVERT_UVEC(x) convert_uintVEC; AS_VEC(x) as_floatVEC
//   VLOAD_HALF(i, p)   vload_halfVEC: VEC halves widened to floats
// gpu-infer inlines #include "vectors.h" when it loads a kernel; to compile a kernel by hand, pass -I kernels.
#ifndef GPU_INFER_VECTORS_H
#define GPU_INFER_VECTORS_H

// float16 values passed to builtins (fma, vload16, convert_float16) change the calling convention on x86 CPUs without
// AVX-512; clang (PoCL's compiler) warns about every such call, which says nothing about correctness
#ifdef __clang__
#pragma clang diagnostic ignored "-Wpsabi"
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

#if VEC == 1
typedef float vec_t;
typedef int ivec_t;
typedef char cvec_t;
typedef uchar ucvec_t;
typedef ushort usvec_t;
typedef uint uvec_t;
#define CONVERT_VEC(x) convert_float(x)
#define CONVERT_UVEC(x) convert_uint(x)
#define AS_VEC(x) as_float(x)
#define VLOAD_HALF(i, p) vload_half(i, p)
#define VLOAD(i, p) ((p)[i])
#define VSTORE(x, i, p) ((p)[i] = (x))
#define HMAX(x) (x)
#define HSUM(x) (x)
#define IOTA 0
#define FOR_LANES(M) M(0)
#define LANE(x, L) (x)
#else
typedef CAT(float, VEC) vec_t;
typedef CAT(int, VEC) ivec_t;
typedef CAT(char, VEC) cvec_t;
typedef CAT(uchar, VEC) ucvec_t;
typedef CAT(ushort, VEC) usvec_t;
typedef CAT(uint, VEC) uvec_t;
#define CONVERT_VEC(x) CAT(convert_float, VEC)(x)
#define CONVERT_UVEC(x) CAT(convert_uint, VEC)(x)
#define AS_VEC(x) CAT(as_float, VEC)(x)
#define VLOAD_HALF(i, p) CAT(vload_half, VEC)(i, p)
#define VLOAD(i, p) CAT(vload, VEC)(i, p)
#define VSTORE(x, i, p) CAT(vstore, VEC)(x, i, p)
#define LANE(x, L) (x).s##L
#if VEC == 2
#define IOTA ((ivec_t)(0, 1))
#define HMAX(x) fmax((x).s0, (x).s1)
#define HSUM(x) ((x).s0 + (x).s1)
#define FOR_LANES(M) M(0) M(1)
#elif VEC == 4
#define IOTA ((ivec_t)(0, 1, 2, 3))
#define HMAX(x) fmax(fmax((x).s0, (x).s1), fmax((x).s2, (x).s3))
#define HSUM(x) (((x).s0 + (x).s1) + ((x).s2 + (x).s3))
#define FOR_LANES(M) M(0) M(1) M(2) M(3)
#elif VEC == 8
#define IOTA ((ivec_t)(0, 1, 2, 3, 4, 5, 6, 7))
#define HMAX4_(x) fmax(fmax((x).s0, (x).s1), fmax((x).s2, (x).s3))
#define HMAX(x) HMAX4_(fmax((x).lo, (x).hi))
#define HSUM4_(x) (((x).s0 + (x).s1) + ((x).s2 + (x).s3))
#define HSUM(x) HSUM4_((x).lo + (x).hi)
#define FOR_LANES(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7)
#elif VEC == 16
#define IOTA ((ivec_t)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))
#define HMAX4_(x) fmax(fmax((x).s0, (x).s1), fmax((x).s2, (x).s3))
#define HMAX8_(x) HMAX4_(fmax((x).lo, (x).hi))
#define HMAX(x) HMAX8_(fmax((x).lo, (x).hi))
#define HSUM4_(x) (((x).s0 + (x).s1) + ((x).s2 + (x).s3))
#define HSUM8_(x) HSUM4_((x).lo + (x).hi)
#define HSUM(x) HSUM8_((x).lo + (x).hi)
#define FOR_LANES(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(a) M(b) M(c) M(d) M(e) M(f)
#else
#error "VEC must be 1, 2, 4, 8 or 16"
#endif
#endif

#endif
