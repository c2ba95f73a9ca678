// unroll.h: register blocks unrolled by the preprocessor.
// PoCL's LLVM did not reliably honour #pragma unroll, and an accumulator array indexed by a loop variable stays in
// memory (a load-FMA-store chain per step). These macros expand a block body once per constant index instead, so
// accumulators are scalars to the compiler and live in registers.
//   REP(n, M)        M(0) M(1) ... M(n-1), n = 1..8
//   ROWS(m, n, M)    M(r, c) for every r < m and c < n, m and n = 1..8
// gpu-infer inlines #include "unroll.h" when it loads a kernel; to compile a kernel by hand, pass -I kernels.
#ifndef GPU_INFER_UNROLL_H
#define GPU_INFER_UNROLL_H

#ifndef CAT
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#endif

#define REP1(M) M(0)
#define REP2(M) REP1(M) M(1)
#define REP3(M) REP2(M) M(2)
#define REP4(M) REP3(M) M(3)
#define REP5(M) REP4(M) M(4)
#define REP6(M) REP5(M) M(5)
#define REP7(M) REP6(M) M(6)
#define REP8(M) REP7(M) M(7)
#define REP(n, M) CAT(REP, n)(M)

#define REPR1(M, R) M(R, 0)
#define REPR2(M, R) REPR1(M, R) M(R, 1)
#define REPR3(M, R) REPR2(M, R) M(R, 2)
#define REPR4(M, R) REPR3(M, R) M(R, 3)
#define REPR5(M, R) REPR4(M, R) M(R, 4)
#define REPR6(M, R) REPR5(M, R) M(R, 5)
#define REPR7(M, R) REPR6(M, R) M(R, 6)
#define REPR8(M, R) REPR7(M, R) M(R, 7)
#define REPR(n, M, R) CAT(REPR, n)(M, R)
#define ROWS1_(M, n) REPR(n, M, 0)
#define ROWS2_(M, n) ROWS1_(M, n) REPR(n, M, 1)
#define ROWS3_(M, n) ROWS2_(M, n) REPR(n, M, 2)
#define ROWS4_(M, n) ROWS3_(M, n) REPR(n, M, 3)
#define ROWS5_(M, n) ROWS4_(M, n) REPR(n, M, 4)
#define ROWS6_(M, n) ROWS5_(M, n) REPR(n, M, 5)
#define ROWS7_(M, n) ROWS6_(M, n) REPR(n, M, 6)
#define ROWS8_(M, n) ROWS7_(M, n) REPR(n, M, 7)
#define ROWS(m, n, M) CAT(CAT(ROWS, m), _)(M, n)

#endif
