// linear.cl: y = act(x . W^T + bias) + residual, the linear layer of a transformer.
//
//   x        [R, K]   rows of activations (R = batch * tokens), float
//   W        [N, K]   weights, one row per output ([out, in], as nn.Linear and GGUF store them; GPT-2's Conv1D
//                     weights are transposed once at load), in their stored format WTYPE (weights.h): float, half,
//                     bfloat16, or ggml's Q8_0 / Q4_0 blocks, widened to float in registers
//   bias     [N]      float, or unused (has_bias = 0)
//   residual [R, N]   or unused (has_residual = 0); may be the output buffer itself (in-place residual add)
//   y        [R, N]
//   act      0 none, 1 GELU (tanh approximation, GPT-2's "gelu_new"), 2 GELU (erf)
// Accumulation is float whatever W's format.
//
// Variants (kernels shaped by -D values; run through `gpu-infer run`, `gpu-infer bench run`):
//   linear_nt   each work-item computes an MB x NB block of y from MB rows of x and NB rows of W, VEC
//               consecutive k at a time: MB*NB vector accumulators reduced horizontally at the end. Both operands
//               stream contiguously along k, so the same kernel serves prefill (MB = 4: each W vector load feeds MB
//               FMAs) and decode (MB = 1: a matrix-vector product that reads every weight once, at memory speed).
//               Block formats (Q8_0, Q4_0) walk K one 32-value block at a time: each of the NB rows' scales is
//               read once per block, its 32 values are widened VEC at a time (d*q, or d*q - 8d as one fma).
//   Measured (2-core AVX-512 machine, PoCL 3.1, float weights): prefill 512 x 2304 x 768 in 13.8-15.6 ms (116-131
//   GFLOP/s, -DVEC=16 -DMB=4 -DNB=4 -DWG=8 -DWGR=16); decode 1 x 8192 x 4096 in 3.6 ms (38 GB/s of weights, -DVEC=16
//   -DMB=1 -DNB=8 -DWG=16); a GPT-2 124M forward: prefill 114 GFLOP/s, decode 19.8 GB/s (`tools/bench_gpt2.sh`).
//   Per weight format on GPT-2 124M shapes: see README's weight-format table (`tools/bench_weights.sh`).
//   linear_rows the decode variant (R <= 16; its section below; F32, F16 and BF16 weights on CPUs run linear_packed
//               instead, from panels packed once): one work-item streams NB whole weight rows. Measured
//               decoding TinyLlama 1.1B shapes (2-core AMD EPYC Zen 3, AVX2, PoCL 3.1, -DVEC=8 -DMB=1 -DNB=4 -DWG=16;
//               `gpu-infer bench run --prompt-tokens 8 --decode-tokens 32`, medians of 3 rounds interleaved with
//               llama.cpp's llama-bench -t 2 on the same GGUF, on a machine shared with other work):
//                 F16   9.9-10.7 tok/s, 20-22 GB/s of weights (llama.cpp 11.8 tok/s, 24 GB/s): waits on memory
//                 Q8_0  14.6 tok/s, 16 GB/s (13.7 with the integer-widened scales before scales4; llama.cpp 17.1)
//                 Q4_0  16.4 tok/s, 9.6 GB/s (11.8 with byte-domain nibbles before the bit-pattern widening;
//                       llama.cpp 32.8, which multiplies int8 by an int8-quantised x: not the same numerics)
//               Tried and left out (no gain): 2-8 rows in lockstep per work-item (F16 9.5 vs 9.6 tok/s; Q8_0/Q4_0
//               25-35% slower in the micro-benchmark, registers spill), two blocks per step instead of four, Q4_0
//               nibbles widened as fp16 0x6400 | q by vcvtph2ps (-20%).
//
//   linear_packed the CPU prefill variant (R > 16; its section below), and on CPUs every F32, F16 and BF16
//               product: W is packed into panels [N/PN][K][PN] (PN = NB*VEC outputs), and each work-item sums outer
//               products into an MB x PN tile of y (broadcast x[m][k], PN contiguous weights at k): no horizontal
//               sums, one contiguous stream of weights. F32, F16 and BF16 weights are packed once for the model's
//               life in their stored format (pack_rows; pack_rows_stored copies 16-bit values, which linear_packed
//               widens in registers; Linear.OnDevice.packsOnce: the backend keeps the panels), and decode runs from
//               the panels too, at any R; Q8_0 and Q4_0 are widened into float32 panels in every prefill step (their
//               blocks run along k). Each output is one sum over k = 0 .. K-1 whatever MB, WGR and R, so a row's
//               result does not depend on the rows beside it (batched decode, gpuinfer.batch.BatchInvarianceTest).
//               GPT-2 124M (2-core Zen 3, AVX2, PoCL 3.1), DecoderModel.forward steps timed one after another,
//               medians of 7, from the panels (before: linear_rows's dot products, packing in every prefill step):
//                 F32  decode step of 16 sequences 43-44 ms (83), of one 26 ms (28: memory speed), 16-token prefill
//                      35-37 ms (86, of which 74 packing)
//                 F16  decode of 16 39 ms (72), of one 14 ms (14), prefill 29 ms (82); BF16 41, 20, 34 ms
//               `gpu-infer bench batch` prints these per-step figures (with sampling and bookkeeping).
//               The GEMM itself (2-core AMD EPYC Zen 3, AVX2, PoCL 3.1, -DVEC=8 -DMB=4 -DNB=2 -DWGR=16, R = 512,
//               float32 weights, GemmBench in src/test/java/gpuinfer/ops; ranges over 4 runs on a machine shared
//               with other work), GFLOP/s, linear_packed (linear_nt): N x K = 2048 x 2048 132-149 (91-107), 2560 x
//               2048 128-159 (86-102), 5632 x 2048 138-167 (95-101), 2048 x 5632 137-150 (93-106), 32000 x 2048
//               144-155 (105-111); OpenBLAS SGEMM 143. pack_rows 2.2-8.6 ms per matrix, dequantize_rows 1.2-5.4.
//               TinyLlama 1.1B prefill (`gpu-infer bench run --prompt-tokens 512 --decode-tokens 4 --repeat 1`,
//               medians of 3 rounds interleaved with the linear_nt build), tok/s: F16 64.3 (linear_nt after
//               dequantize_rows 46.8; llama.cpp 70), Q8_0 59.4 (46.6; llama.cpp 54), Q4_0 58.4 (48.0; llama.cpp 58).
//               -Dgpuinfer.linear.prefill=nt (in GPU_INFER_JAVA_OPTS) selects the earlier path, =packed this one on
//               any device and with either family (see Linear.OnDevice); GPUs run linear_tiled by default.
//               Tried and left out: MB = 6 (12 accumulators): GemmBench 153-166 on 4 of the 5 shapes, but prefill
//               only +2% (F16) and +5% (Q8_0) in 3 interleaved rounds, within the machine's noise; MB = 3 NB = 4
//               76-88 GFLOP/s; MB = 4 NB = 3 128-151. pack_rows as one work-item per row and chunk, or through a
//               local-memory tile: 4-10x slower than now (PoCL's cost per work-group).
//
// The GPU-shaped variants (chosen where the device reports CL_DEVICE_TYPE_GPU, or with --kernels gpu /
// GPU_INFER_KERNELS=gpu; see gpuinfer.variants.Variants and Linear.OnDevice, which falls back to the next variant
// when one does not fit the device's kernel limits):
//   linear_matvec the GPU decode variant (R <= 16; its section below): a work-group per NB outputs, its WG work-items
//               reading consecutive float4 pieces (or 8-value quarter blocks of Q8_0 / Q4_0) of the same weight row,
//               so a group's loads are coalesced; partial sums reduced in local memory (a tree, barriers), or with
//               sub_group_reduce_add where the device has subgroups. Defaults -DVEC=4 -DNB=4 -DWG=64.
//   linear_tiled the GPU prefill variant (R > 16, float32 weights; narrow formats widened by dequantize_rows
//               first): TM x TN tiles of y (TM = WGR*MB, TN = WG*NB) from tiles of x and W staged k-major through
//               local memory TK values of k at a time (rows padded by one float), each work-item summing an MB x NB
//               register block. Defaults -DMB=4 -DNB=4 -DWG=16 -DWGR=16 -DTK=16: 64 x 64 tiles, 256 work-items,
//               8.3 KiB of local memory.
//   Measured on PoCL 3.1 only, a CPU (2-core AMD EPYC Zen 3, AVX2, shared with other work): these are figures of a
//   CPU running GPU-shaped kernels, which PoCL serialises (barriers split every work-group into loops), not of a
//   GPU; their GPU speed is measured by tools/gpu-check.sh. LinearVariantsBench in src/test/java/gpuinfer/ops
//   (TinyLlama 1.1B shapes, N x K = 2048 x 2048, 5632 x 2048, 2048 x 5632; medians of 3):
//     decode R = 1, GB/s of weights, linear_matvec (linear_rows): F32 4.8 4.5 5.3 (10.6 11.8 12.6), F16 2.5 2.4 4.7
//       (4.2 8.8 7.8), Q8_0 1.0 1.0 1.4 (3.3 7.0 4.5), Q4_0 1.0 1.1 1.1 (4.2 5.9 8.1)
//     prefill R = 512, GFLOP/s, linear_tiled (linear_packed, linear_nt): F32 5.2 4.1 4.4 (120 123 114, 90 105 96),
//       Q8_0 with its widening 4.7 4.4 4.5 (114 130 126, 84 92 91)
//   GPT-2 124M F16, `gpu-infer run` of a 111-token prompt and 16 tokens, 3 rounds: default (linear_packed,
//   linear_rows) prefill 205-255 tok/s, decode 34-39 tok/s; GPU_INFER_KERNELS=gpu (linear_tiled, linear_matvec)
//   prefill 11-19 tok/s, decode 11-12 tok/s. So the CPU-shaped variants stay the default on CPUs.
//
// Tuning values (-D, with defaults so the file compiles on its own):
//   WTYPE the weights' stored format (weights.h: 0 f32, 1 f16, 2 bf16, 3 q8_0, 4 q4_0)
//   VEC   floats per vector along k (1, 2, 4, 8, 16); a k remainder is handled with scalars (float formats only:
//         the block formats have K % 32 == 0)
//   MB    rows of x per work-item (1..8)
//   NB    rows of W (outputs) per work-item (1..8)
//   WG    work-items per group along the outputs (dimension 0)
//   WGR   work-items per group along the rows (dimension 1): a group covers WG*NB outputs of WGR*MB rows, so each
//         weight row it loads serves WGR*MB rows from cache instead of being streamed again from memory
//         (linear_packed: groups are 1 x WGR, one panel of PN = NB*VEC outputs for WGR*MB rows; WG is unused)
//         linear_matvec: NB outputs per group of WG (1-D; MB, WGR unused); linear_tiled: the group's tile is WGR*MB
//         rows x WG*NB outputs (VEC unused)
//   TK    linear_tiled: values of k per local-memory step
//   USE_SUBGROUPS  linear_matvec: 1 reduces with sub_group_reduce_add (the host sets it only where the device lists
//         cl_khr_subgroups or cl_intel_subgroups; PoCL and Oclgrind have none: the tests run that path with
//         subgroups of one work-item emulated by -D definitions of the subgroup built-ins, so a driver's real
//         subgroups are untested here; should the path not build, the host builds the local-memory one, warning)
//   LINEAR_MATVEC  1 (default) defines linear_matvec; the host passes 0 for the other variants' programs, which then
//         do not pay PoCL's seconds of compiling it
// Test-only fault (never set outside tests): PLANTED_MATVEC_WRONG makes linear_matvec drop work-item 0's partial sum
// of each group's last output, so that tests can prove the device self-test catches a wrong variant.

#ifndef WTYPE
#define WTYPE 0
#endif
#ifndef VEC
#define VEC 8
#endif
#ifndef MB
#define MB 4
#endif
#ifndef NB
#define NB 4
#endif
#ifndef WG
#define WG 16
#endif
#ifndef WGR
#define WGR 1
#endif
#ifndef TK
#define TK 16
#endif
#ifndef USE_SUBGROUPS
#define USE_SUBGROUPS 0
#endif
#ifndef LINEAR_MATVEC
#define LINEAR_MATVEC 1
#endif

#if MB > 8 || NB > 8
#error "MB and NB are at most 8"
#endif

#include "vectors.h"
#include "unroll.h"
#include "weights.h"

#if WTYPE == WT_F32
#define WLOAD(i, row) VLOAD(i, (const __global float*)(row))
#elif WTYPE == WT_F16
#define WLOAD(i, row) VLOAD_HALF(i, (const __global half*)(row))
#elif WTYPE == WT_BF16
#define WLOAD(i, row) AS_VEC(CONVERT_UVEC(VLOAD(i, (const __global ushort*)(row))) << 16)
#elif WTYPE == WT_Q8_0 || WTYPE == WT_Q4_0
#define WT_BLOCK_BYTES (WTYPE == WT_Q8_0 ? 34 : 18)
// VEC-wide chunks per 32-value block; FOR_CHUNKS unrolls them (its own macro: REP cannot nest inside REP)
#if VEC == 16
#define CHUNKS 2
#define FOR_CHUNKS(M) M(0) M(1)
#elif VEC == 8
#define CHUNKS 4
#define FOR_CHUNKS(M) M(0) M(1) M(2) M(3)
#elif VEC == 4
#define CHUNKS 8
#define FOR_CHUNKS(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7)
#elif VEC == 2
#define CHUNKS 16
#else
#define CHUNKS 32
#endif
#else
#error "WTYPE must be 0 (f32), 1 (f16), 2 (bf16), 3 (q8_0) or 4 (q4_0)"
#endif

#define FOR_MB(M) REP(MB, M)
#define FOR_NB(M) REP(NB, M)
#define FOR_MB_NB(M) ROWS(MB, NB, M)

// The activation of pre-activation values (bias included), written once for a vec_t (activate: one exp serves VEC
// outputs; evaluated one output at a time, GELU took 40% of the MLP projection's time on PoCL) and for one float
// (activate1: linear_rows's outputs and linear_nt's leftovers).
#define DEFINE_ACTIVATE(NAME, T)                                                                               \
    inline T NAME(const T x, const int act)                                                                    \
    {                                                                                                          \
        if (act == 1) {                                                                                        \
            /* 0.5 x (1 + tanh z) = x sigmoid(2z), z = sqrt(2 / pi) (x + 0.044715 x^3): one exp, not a tanh */ \
            const T z = 0.7978845608028654f * (x + 0.044715f * x * x * x);                                     \
            return x / (1.0f + exp(-2.0f * z));                                                                \
        }                                                                                                      \
        if (act == 2) {                                                                                        \
            return 0.5f * x * (1.0f + erf(x * 0.7071067811865476f));                                           \
        }                                                                                                      \
        return x;                                                                                              \
    }
DEFINE_ACTIVATE(activate, vec_t)
#if VEC == 1
#define activate1 activate
#else
DEFINE_ACTIVATE(activate1, float)
#endif
#undef DEFINE_ACTIVATE

__kernel __attribute__((reqd_work_group_size(WG, WGR, 1)))
void linear_nt(__global const float* x,         // [R, K]
               __global const uchar* w,         // [N, K] in format WTYPE: N rows of WT_ROW_BYTES(WTYPE, K) bytes
               __global const float* bias,      // [N], read when has_bias
               __global const float* residual,  // [R, N], read when has_residual
               __global float* y,               // [R, N]
               const int R, const int N, const int K,
               const int has_bias, const int has_residual, const int act)
{
    const int n0 = get_global_id(0) * NB;        // first output of this work-item
    const int r0 = get_global_id(1) * MB;        // first row of this work-item
    if (n0 >= N || r0 >= R) {
        return;
    }
    // Rows and outputs past the end are clamped for loading (their results are not stored).
    const __global float* xr[MB];
    const __global uchar* wn[NB];
    const size_t row_bytes = WT_ROW_BYTES(WTYPE, K);
#define ROW_PTR(M_) xr[M_] = x + (size_t)min(r0 + M_, R - 1) * K;
    FOR_MB(ROW_PTR)
#undef ROW_PTR
#define W_PTR(N_) wn[N_] = w + (size_t)min(n0 + N_, N - 1) * row_bytes;
    FOR_NB(W_PTR)
#undef W_PTR

    vec_t acc[MB][NB];
#define ZERO(M_, N_) acc[M_][N_] = (vec_t)(0.0f);
    FOR_MB_NB(ZERO)
#undef ZERO
#define LOAD_A(M_) a[M_] = VLOAD(i, xr[M_]);
#define FMA(M_, N_) acc[M_][N_] = fma(a[M_], b[N_], acc[M_][N_]);

#if WTYPE <= WT_BF16
    const int kv = K / VEC;
    for (int i = 0; i < kv; i++) {
        vec_t a[MB];
        vec_t b[NB];
        FOR_MB(LOAD_A)
#define LOAD_B(N_) b[N_] = WLOAD(i, wn[N_]);
        FOR_NB(LOAD_B)
#undef LOAD_B
        FOR_MB_NB(FMA)
    }

    float sum[MB][NB];
#define REDUCE(M_, N_) sum[M_][N_] = HSUM(acc[M_][N_]);
    FOR_MB_NB(REDUCE)
#undef REDUCE
    for (int k = kv * VEC; k < K; k++) {   // the k remainder when VEC does not divide K
#define TAIL(M_, N_) sum[M_][N_] = fma(xr[M_][k], WT_AT(WTYPE, wn[N_], k), sum[M_][N_]);
        FOR_MB_NB(TAIL)
#undef TAIL
    }
#else
    // block formats: one 32-value block of every row at a time; its scale is read once, its values CHUNKS x VEC
    for (int blk = 0; blk < K / 32; blk++) {
        const __global uchar* qb[NB];
        vec_t d[NB];
#define BLOCK(N_) qb[N_] = wn[N_] + (size_t)blk * WT_BLOCK_BYTES + 2;                                          \
                  d[N_] = (vec_t)(vload_half(0, (const __global half*)(qb[N_] - 2)));
        FOR_NB(BLOCK)
#undef BLOCK
#if WTYPE == WT_Q8_0
#define LOAD_Q(N_) b[N_] = CONVERT_VEC(VLOAD(jc, (const __global char*)qb[N_])) * d[N_];
#else
        // value j of a block: the low nibble of byte j (j < 16) or the high nibble of byte j - 16
#define LOAD_Q(N_)                                                                                            \
        {                                                                                                     \
            const ucvec_t packed = VLOAD(0, qb[N_] + (jc * VEC) % 16);                                        \
            const ucvec_t q = jc * VEC >= 16 ? (ucvec_t)(packed >> (uchar)4) : (ucvec_t)(packed & (uchar)15); \
            b[N_] = fma(CONVERT_VEC(q), d[N_], -8.0f * d[N_]);                                                \
        }
#endif
#define CHUNK_BODY                                                                                            \
        {                                                                                                     \
            const int i = blk * CHUNKS + jc;                                                                  \
            vec_t a[MB];                                                                                      \
            vec_t b[NB];                                                                                      \
            FOR_MB(LOAD_A)                                                                                    \
            FOR_NB(LOAD_Q)                                                                                    \
            FOR_MB_NB(FMA)                                                                                    \
        }
#if CHUNKS <= 8
#define CHUNK(J) { const int jc = J; CHUNK_BODY }
        FOR_CHUNKS(CHUNK)
#undef CHUNK
#else
        for (int jc = 0; jc < CHUNKS; jc++) CHUNK_BODY
#endif
#undef CHUNK_BODY
#undef LOAD_Q
    }

    float sum[MB][NB];
#define REDUCE(M_, N_) sum[M_][N_] = HSUM(acc[M_][N_]);
    FOR_MB_NB(REDUCE)
#undef REDUCE
#endif
#undef LOAD_A
#undef FMA

    // epilogue: bias, then the activation VEC outputs at a time, then the residual
    float out[MB * NB];
#define BIAS(M_, N_) out[M_ * NB + N_] = sum[M_][N_] + (has_bias ? bias[min(n0 + N_, N - 1)] : 0.0f);
    FOR_MB_NB(BIAS)
#undef BIAS
    if (act != 0) {
        int i = 0;
        for (; i + VEC <= MB * NB; i += VEC) {
            VSTORE(activate(VLOAD(0, out + i), act), 0, out + i);
        }
        for (; i < MB * NB; i++) {
            out[i] = activate1(out[i], act);
        }
    }
#define STORE(M_, N_)                                                                   \
    {                                                                                   \
        const int r = r0 + M_;                                                          \
        const int n = n0 + N_;                                                          \
        if (r < R && n < N) {                                                           \
            const size_t at = (size_t)r * N + n;                                        \
            y[at] = out[M_ * NB + N_] + (has_residual ? residual[at] : 0.0f);           \
        }                                                                               \
    }
    FOR_MB_NB(STORE)
#undef STORE
}

// ---------------------------------------------------------------------------------------------------- linear_rows
// The decode variant (a few rows of x, as in generating one token per sequence): every weight is read once, so the
// product runs at the speed memory streams the weights. Work-item i computes the NB consecutive outputs i*NB ..
// i*NB + NB - 1 one after another, so a work-group reads WG*NB consecutive weight rows as one contiguous region: one
// long stream that the hardware prefetcher follows (linear_nt's NB rows in lockstep are NB short streams: a Q4_0 row
// of 768 values is 432 bytes, seven cache lines). Float formats: two independent VEC-wide partial sums per output.
// Block formats: 32 values at a time as two 16-wide halves, summed unscaled and multiplied by the block's scale once;
// the scales of four blocks are widened by one vcvtph2ps (scales4); Q4_0's nibbles become floats through the bit
// pattern 0x4b000000 | q, less 2^23 + 8 (exact: every weight is still d * (q - 8)). These formats are bound by the
// widening instructions, not by memory: on TinyLlama decode (2-core Zen 3) Q8_0 reads 17 GB/s, Q4_0 8 GB/s, F16 20.
// Measured: see the header and README's weight-format table.
// A batch of rows (up to 16 sequences decoding together): each row re-reads the weight row from cache and is summed
// alone, so a row's output is the same bits whatever R is (gpuinfer.batch.BatchInvarianceTest). On CPUs F32, F16 and
// BF16 decode runs linear_packed from panels instead; here they run only where linear_packed is not the prefill
// variant (disabled by the self-test, or -Dgpuinfer.linear.prefill=nt).
// Tuning values: VEC (float formats), NB, WG.

#if WTYPE == WT_Q8_0 || WTYPE == WT_Q4_0
// the scales of blocks b .. b + 3 of a row (fp16 bit patterns WT_BLOCK_BYTES apart), widened exactly: gathered into
// a private ushort4 whose vload_half4 PoCL compiles to one vcvtph2ps (its scalar vload_half is a dozen scalar
// instructions, and an integer widening a dozen vector ones)
inline float4 scales4(const __global uchar* blk)
{
    const ushort4 h = (ushort4)(*(const __global ushort*)blk, *(const __global ushort*)(blk + WT_BLOCK_BYTES),
                                *(const __global ushort*)(blk + 2 * WT_BLOCK_BYTES),
                                *(const __global ushort*)(blk + 3 * WT_BLOCK_BYTES));
    return vload_half4(0, (const __private half*)&h);
}
#endif

// the sum of a float16's lanes (a macro: a float16 argument or result of a function changes the ABI without
// AVX-512, and clang warns about it on every build)
#define SUM16(v) SUM16_8_((v).lo + (v).hi)
#define SUM16_8_(a) SUM16_4_((a).lo + (a).hi)
#define SUM16_4_(b) (((b).s0 + (b).s1) + ((b).s2 + (b).s3))

#if WTYPE <= WT_BF16
// x . row over K values of a float format
inline float row_dot(const __global float* x, const __global uchar* row, const int K)
{
    vec_t a0 = (vec_t)(0.0f);
    vec_t a1 = (vec_t)(0.0f);
    const int kv = K / VEC;
    int i = 0;
    for (; i + 2 <= kv; i += 2) {
        a0 = fma(VLOAD(i, x), WLOAD(i, row), a0);
        a1 = fma(VLOAD(i + 1, x), WLOAD(i + 1, row), a1);
    }
    if (i < kv) {
        a0 = fma(VLOAD(i, x), WLOAD(i, row), a0);
    }
    float s = HSUM(a0 + a1);
    for (int k = kv * VEC; k < K; k++) {
        s = fma(x[k], WT_AT(WTYPE, row, k), s);
    }
    return s;
}

#else
// the unscaled dot product of one block's 32 values (the bytes after its scale at q) with x[0..32), as a float16 of
// partial sums (a macro, for the reason SUM16 is one)
#if WTYPE == WT_Q8_0
#define BLOCK_DOT(q, x)                                                                                          \
    fma(convert_float16(vload16(1, (const __global char*)(q))), vload16(1, (x)),                               \
        convert_float16(vload16(0, (const __global char*)(q))) * vload16(0, (x)))
#else
// the nibbles widened to 32-bit lanes (vpmovzxbd), then to floats without a conversion instruction: the bit pattern
// 0x4b000000 | q is the float 2^23 + q, exactly, and subtracting 2^23 + 8 leaves q - 8, exactly
#define BLOCK_DOT(q, x)                                                                                          \
    fma(as_float16((convert_uint16(vload16(0, (q))) >> 4) | 0x4b000000u) - 8388616.0f, vload16(1, (x)),       \
        (as_float16((convert_uint16(vload16(0, (q))) & 15u) | 0x4b000000u) - 8388616.0f) * vload16(0, (x)))
#endif

inline float row_dot(const __global float* x, const __global uchar* row, const int K)
{
    const int blocks = K / 32;
    float16 acc0 = (float16)(0.0f);
    float16 acc1 = (float16)(0.0f);
    int b = 0;
    for (; b + 4 <= blocks; b += 4) {
        const __global uchar* blk = row + (size_t)b * WT_BLOCK_BYTES;
        const float4 d = scales4(blk);
        const __global float* xb = x + b * 32;
        acc0 = fma((float16)(d.s0), BLOCK_DOT(blk + 2, xb), acc0);
        acc1 = fma((float16)(d.s1), BLOCK_DOT(blk + WT_BLOCK_BYTES + 2, xb + 32), acc1);
        acc0 = fma((float16)(d.s2), BLOCK_DOT(blk + 2 * WT_BLOCK_BYTES + 2, xb + 64), acc0);
        acc1 = fma((float16)(d.s3), BLOCK_DOT(blk + 3 * WT_BLOCK_BYTES + 2, xb + 96), acc1);
    }
    for (; b < blocks; b++) {
        const __global uchar* blk = row + (size_t)b * WT_BLOCK_BYTES;
        acc0 = fma((float16)(vload_half(0, (const __global half*)blk)), BLOCK_DOT(blk + 2, x + b * 32), acc0);
    }
    const float16 acc = acc0 + acc1;
    return SUM16(acc);
}
#endif

__kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void linear_rows(__global const float* x,         // [R, K]
                 __global const uchar* w,         // [N, K] in format WTYPE
                 __global const float* bias,      // [N], read when has_bias
                 __global const float* residual,  // [R, N], read when has_residual
                 __global float* y,               // [R, N]
                 const int R, const int N, const int K,
                 const int has_bias, const int has_residual, const int act)
{
    const int n0 = get_global_id(0) * NB;
    const size_t row_bytes = WT_ROW_BYTES(WTYPE, K);
    for (int j = 0; j < NB; j++) {
        const int n = n0 + j;
        if (n >= N) {
            return;
        }
        const __global uchar* row = w + (size_t)n * row_bytes;
        for (int r = 0; r < R; r++) {   // more rows of x re-read this weight row from cache
            float v = row_dot(x + (size_t)r * K, row, K) + (has_bias ? bias[n] : 0.0f);
            v = activate1(v, act);
            const size_t at = (size_t)r * N + n;
            y[at] = v + (has_residual ? residual[at] : 0.0f);
        }
    }
}

// -------------------------------------------------------------------------------------------------- linear_matvec
// The GPU decode variant (R <= 16 rows of x, MV_MAX_ROWS at a time): one work-group of WG work-items
// computes NB consecutive outputs for every row of x. Its work-items walk the NB weight rows together: at each step
// work-item i reads piece i of the stretch the group is on, so a step's loads are WG consecutive pieces of one row
// (coalesced), and every weight is read once however many rows x has. A piece is VEC consecutive values of a float
// format (vload / vload_half / the bf16 shift, as linear_nt), or an 8-value quarter of a Q8_0 / Q4_0 block (four
// consecutive work-items read one block's quants; the block's fp16 scale is read by all four, from the cache).
// Each work-item sums its pieces into R x NB vector accumulators (R a constant of mv_accumulate_R, chosen by a uniform
// branch: no wasted FMAs for fewer rows), reduces each to a float, and the group adds the WG partial sums of each
// output in local memory: a tree of halvings with a barrier between steps (a WG that is not a power of two is first
// folded onto the largest power of two below it). With USE_SUBGROUPS = 1 (set by the host only where the device lists
// cl_khr_subgroups or cl_intel_subgroups) each subgroup sums its lanes with sub_group_reduce_add first and the
// epilogue adds one partial per subgroup; PoCL and Oclgrind have no subgroups, so real subgroups are untested here
// (LinearVariantsTest and LinearShapeSweep emulate subgroups of one work-item with -D definitions).
// Then WG work-items finish the R x NB outputs as linear_rows does: bias, activation, residual (which may be y).
// Floats past the last whole vector of a float format's row (K % VEC) are added by work-items 0 .. K % VEC - 1.
// Tuning values: VEC (float formats), NB (outputs per group), WG (work-items per group).
// Test-only fault PLANTED_MATVEC_WRONG: work-item 0's partial sum of each group's last output is dropped from the
// reduction (wrong whenever that work-item read anything, i.e. always); the device self-test's tests plant it to prove
// that a wrong variant is caught.

#if LINEAR_MATVEC
#define MV_MAX_ROWS 3

#if USE_SUBGROUPS && defined(cl_khr_subgroups)
#pragma OPENCL EXTENSION cl_khr_subgroups : enable
#endif

#if WTYPE <= WT_BF16
typedef vec_t mv_t;
#define MV_PIECES(K) ((K) / VEC)
#define MV_SUM(v) HSUM(v)
#define MV_LOAD_X(R_) a[R_] = VLOAD(u, x + (size_t)R_ * K);
#define MV_LOAD_W(N_) b[N_] = WLOAD(u, wn[N_]);
#define MV_TAIL_TERM(R_, N_) partial[R_ * NB + N_] = fma(x[(size_t)R_ * K + k], WT_AT(WTYPE, wn[N_], k), partial[R_ * NB + N_]);
#define MV_TAIL(RR)                                                   \
    for (int k = MV_PIECES(K) * VEC + lid; k < K; k += WG) {          \
        ROWS(RR, NB, MV_TAIL_TERM)                                    \
    }
#else
// a piece is quarter u & 3 of block u >> 2 (8 values); weights widened exactly (d * q, d * (q - 8))
typedef float8 mv_t;
#define MV_PIECES(K) ((K) / 8)
#define MV_SUM(v) dot((v).lo + (v).hi, (float4)(1.0f))
#define MV_TAIL(RR)
#if WTYPE == WT_Q8_0
// quarter s holds values 8s .. 8s + 7 of its block
#define MV_LOAD_X(R_) a[R_] = vload8(u, x + (size_t)R_ * K);
#define MV_LOAD_W(N_)                                                                          \
    {                                                                                          \
        const __global uchar* blk = wn[N_] + (size_t)(u >> 2) * WT_BLOCK_BYTES;                \
        b[N_] = vload_half(0, (const __global half*)blk)                                       \
                * convert_float8(vload8(0, (const __global char*)(blk + 2 + 8 * (u & 3))));    \
    }
#else
// quarter s holds bytes 4s .. 4s + 3 of its block: values 4s .. 4s + 3 (low nibbles), 16 + 4s .. 19 + 4s (high)
#define MV_LOAD_X(R_)                                                                          \
    {                                                                                          \
        const __global float* xq = x + (size_t)R_ * K + (u >> 2) * 32 + 4 * (u & 3);           \
        a[R_] = (float8)(vload4(0, xq), vload4(0, xq + 16));                                   \
    }
#define MV_LOAD_W(N_)                                                                          \
    {                                                                                          \
        const __global uchar* blk = wn[N_] + (size_t)(u >> 2) * WT_BLOCK_BYTES;                \
        const uchar4 packed = vload4(0, blk + 2 + 4 * (u & 3));                                \
        const float8 q = (float8)(convert_float4(packed & (uchar4)(15)),                       \
                                  convert_float4(packed >> (uchar4)(4)));                      \
        b[N_] = vload_half(0, (const __global half*)blk) * (q - 8.0f);                        \
    }
#endif
#endif

#define MV_W_PTR(N_) wn[N_] = w + (size_t)min(n0 + N_, N - 1) * row_bytes;
#define MV_ZERO(R_, N_) acc[R_][N_] = (mv_t)(0.0f);
#define MV_FMA(R_, N_) acc[R_][N_] = fma(a[R_], b[N_], acc[R_][N_]);
#define MV_PARTIAL(R_, N_) partial[R_ * NB + N_] = MV_SUM(acc[R_][N_]);

// mv_accumulate_RR: this work-item's partial sums of the NB outputs from n0 for RR rows of x, into
// partial[r * NB + j] (outputs past N read row N - 1 and are not stored)
#define MV_DEFINE_ACCUMULATE(RR)                                                                 \
    inline void mv_accumulate_##RR(const __global float* x, const __global uchar* w, const int n0, \
                                   const int N, const int K, const int lid, __private float* partial) \
    {                                                                                            \
        const size_t row_bytes = WT_ROW_BYTES(WTYPE, K);                                         \
        const __global uchar* wn[NB];                                                            \
        FOR_NB(MV_W_PTR)                                                                         \
        mv_t acc[RR][NB];                                                                        \
        ROWS(RR, NB, MV_ZERO)                                                                    \
        for (int u = lid; u < MV_PIECES(K); u += WG) {                                           \
            mv_t a[RR];                                                                          \
            mv_t b[NB];                                                                          \
            REP(RR, MV_LOAD_X)                                                                   \
            FOR_NB(MV_LOAD_W)                                                                    \
            ROWS(RR, NB, MV_FMA)                                                                 \
        }                                                                                        \
        ROWS(RR, NB, MV_PARTIAL)                                                                 \
        MV_TAIL(RR)                                                                              \
    }
MV_DEFINE_ACCUMULATE(1)
MV_DEFINE_ACCUMULATE(2)
MV_DEFINE_ACCUMULATE(3)
#undef MV_DEFINE_ACCUMULATE

__kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void linear_matvec(__global const float* x,         // [R, K], R <= 16 (Linear.Config.DECODE_MAX_ROWS)
                   __global const uchar* w,         // [N, K] in format WTYPE
                   __global const float* bias,      // [N], read when has_bias
                   __global const float* residual,  // [R, N], read when has_residual
                   __global float* y,               // [R, N]
                   const int R, const int N, const int K,
                   const int has_bias, const int has_residual, const int act)
{
    // [row of x * NB + output][work-item]: one row of partial sums per output; + 1 so that the epilogue's reads
    // down a column (stride WG + 1) fall in different banks
    __local float part[MV_MAX_ROWS * NB][WG + 1];
    const int lid = get_local_id(0);
    const int n0 = get_group_id(0) * NB;

    // rows of x MV_MAX_ROWS at a time: each row's partial sums and their reduction are the same whatever R is, so a
    // row's result does not depend on the rows beside it (continuous batching relies on it; see Linear.Config)
    for (int r0 = 0; r0 < R; r0 += MV_MAX_ROWS) {
        const int rows = min(R - r0, MV_MAX_ROWS);
        const __global float* xc = x + (size_t)r0 * K;
        // pass 1: this work-item's pieces of the NB weight rows, dotted with every row of x
        float partial[MV_MAX_ROWS * NB];
        if (rows == 1) {
            mv_accumulate_1(xc, w, n0, N, K, lid, partial);
        } else if (rows == 2) {
            mv_accumulate_2(xc, w, n0, N, K, lid, partial);
        } else {
            mv_accumulate_3(xc, w, n0, N, K, lid, partial);
        }
    #ifdef PLANTED_MATVEC_WRONG
        if (lid == 0) {
            for (int r = 0; r < rows; r++) {
                partial[r * NB + min(NB, N - n0) - 1] = 0.0f;
            }
        }
    #endif

        // pass 2: the group's sum of each output's partial sums
    #if USE_SUBGROUPS
    #define MV_SUBGROUP(R_, N_)                                                        \
        if (R_ < rows) {                                                               \
            const float sum = sub_group_reduce_add(partial[R_ * NB + N_]);             \
            if (get_sub_group_local_id() == 0) {                                       \
                part[R_ * NB + N_][get_sub_group_id()] = sum;                          \
            }                                                                          \
        }
        ROWS(MV_MAX_ROWS, NB, MV_SUBGROUP)
    #undef MV_SUBGROUP
        barrier(CLK_LOCAL_MEM_FENCE);
        const int columns = get_num_sub_groups();
    #else
    #define MV_STORE(R_, N_) if (R_ < rows) part[R_ * NB + N_][lid] = partial[R_ * NB + N_];
        ROWS(MV_MAX_ROWS, NB, MV_STORE)
    #undef MV_STORE
        barrier(CLK_LOCAL_MEM_FENCE);
        int half_wg = 1;                 // the largest power of two <= WG (a constant)
        while (half_wg * 2 <= WG) {
            half_wg *= 2;
        }
    #define MV_ADD(R_, N_) if (R_ < rows) part[R_ * NB + N_][lid] += part[R_ * NB + N_][lid + step];
        if (lid < WG - half_wg) {        // fold work-items half_wg .. WG - 1 onto 0 .. WG - half_wg - 1
            const int step = half_wg;
            ROWS(MV_MAX_ROWS, NB, MV_ADD)
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int step = half_wg / 2; step > 0; step /= 2) {
            if (lid < step) {
                ROWS(MV_MAX_ROWS, NB, MV_ADD)
            }
            barrier(CLK_LOCAL_MEM_FENCE);
        }
    #undef MV_ADD
        const int columns = 1;
    #endif

        // epilogue: work-item v finishes output v % NB of row v / NB
        for (int v = lid; v < rows * NB; v += WG) {
            const int n = n0 + v % NB;
            if (n < N) {
                float s = 0.0f;
                for (int c = 0; c < columns; c++) {
                    s += part[v][c];
                }
                s = activate1(s + (has_bias ? bias[n] : 0.0f), act);
                const size_t at = (size_t)(r0 + v / NB) * N + n;
                y[at] = s + (has_residual ? residual[at] : 0.0f);
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);   // the next rows reuse part
    }
}

#endif // LINEAR_MATVEC

// ------------------------------------------------------------------------------------------------ dequantize_rows
// Prefill with weights in a narrow format: the product is compute-bound, and linear_nt would widen every weight once
// per group of rows of x (R / (WGR * MB) times); instead each weight is widened once per forward step into a float
// scratch matrix that linear_nt (WTYPE 0) then reads. Work-item (c, n) widens values 32c .. 32c + 31 of row n
// (fewer at the end of a row of a float format whose K is not a multiple of 32). Exact: the values are the ones the
// CPU reference dequantises. Launched as a 2-D range: dimension 0 over the 32-value chunks of a row, 1 over rows.
__kernel void dequantize_rows(__global const uchar* w,   // [N, K] in format WTYPE
                              __global float* out,       // [N, K]
                              const int N, const int K)
{
    const int c = get_global_id(0);
    const int n = get_global_id(1);
    const int k0 = c * 32;
    if (n >= N || k0 >= K) {
        return;
    }
    const __global uchar* row = w + (size_t)n * WT_ROW_BYTES(WTYPE, K);
    __global float* dst = out + (size_t)n * K + k0;
#if WTYPE == WT_Q8_0 || WTYPE == WT_Q4_0
    const __global uchar* blk = row + (size_t)c * WT_BLOCK_BYTES;
    const float16 d = (float16)(vload_half(0, (const __global half*)blk));
#if WTYPE == WT_Q8_0
    vstore16(d * convert_float16(vload16(0, (const __global char*)(blk + 2))), 0, dst);
    vstore16(d * convert_float16(vload16(1, (const __global char*)(blk + 2))), 1, dst);
#else
    const uchar16 packed = vload16(0, blk + 2);
    vstore16(d * convert_float16(as_char16(packed & (uchar16)(15)) - (char16)(8)), 0, dst);
    vstore16(d * convert_float16(as_char16(packed >> (uchar16)(4)) - (char16)(8)), 1, dst);
#endif
#else
    if (k0 + 32 <= K) {
        for (int i = 0; i < 32 / VEC; i++) {
            VSTORE(WLOAD(k0 / VEC + i, row), i, dst);   // k0 is a multiple of 32, so of VEC
        }
    } else {
        for (int k = k0; k < K; k++) {
            out[(size_t)n * K + k] = WT_AT(WTYPE, row, k);
        }
    }
#endif
}

// ------------------------------------------------------------------------------------------------- linear_packed
// Prefill from weights packed into panels (pack_rows, pack_rows_stored below): wp [ceil(N / PN)][K][PN], PN = NB *
// VEC, panel p holding outputs p*PN .. p*PN + PN - 1 (outputs past N are zero), so the PN weights of one k are
// contiguous. The panels are in format WTYPE: float (WT_F32: float32 weights, or any format widened by pack_rows),
// or the 16-bit values of F16 / BF16 weights as stored (pack_rows_stored), widened VEC at a time in registers. Each
// work-item computes an MB x PN tile of y as a sum of outer products, the classic CPU SGEMM micro-kernel: at every k
// it loads NB vectors of the panel and broadcasts x[m][k] of its MB rows, MB * NB FMAs into vector accumulators that
// each hold VEC outputs: no horizontal sums, and the panel streams contiguously. A group is 1 x WGR work-items: one
// panel, WGR*MB rows, run one after another by PoCL, so the panel (PN*K values) is re-read from cache.
// Tuning values: VEC, MB, NB (PN = NB * VEC), WGR.
#define PN (NB * VEC)
#if WTYPE == WT_F32 || WTYPE == WT_F16 || WTYPE == WT_BF16
#define PANEL_VALUE_BYTES (WTYPE == WT_F32 ? 4 : 2)
#define PANEL_LOAD(i, at) WLOAD(i, at)
#else
// block formats are widened into float panels (pack_rows), never kept in panels as stored
#define PANEL_VALUE_BYTES 4
#define PANEL_LOAD(i, at) VLOAD(i, (const __global float*)(at))
#endif

__kernel __attribute__((reqd_work_group_size(1, WGR, 1)))
void linear_packed(__global const float* x,         // [R, K]
                   __global const uchar* wp,        // [ceil(N / PN)][K][PN] in format WTYPE (float or 16-bit)
                   __global const float* bias,      // [N], read when has_bias
                   __global const float* residual,  // [R, N], read when has_residual
                   __global float* y,               // [R, N]
                   const int R, const int N, const int K,
                   const int has_bias, const int has_residual, const int act)
{
    const int p = get_global_id(0);
    const int n0 = p * PN;
    const int r0 = get_global_id(1) * MB;
    if (n0 >= N || r0 >= R) {
        return;
    }
    const __global float* xr[MB];
#define ROW_PTR(M_) xr[M_] = x + (size_t)min(r0 + M_, R - 1) * K;
    FOR_MB(ROW_PTR)
#undef ROW_PTR
    const __global uchar* panel = wp + (size_t)p * K * PN * PANEL_VALUE_BYTES;

    vec_t acc[MB][NB];
#define ZERO(M_, N_) acc[M_][N_] = (vec_t)(0.0f);
    FOR_MB_NB(ZERO)
#undef ZERO
#define LOAD_B(N_) b[N_] = PANEL_LOAD(N_, bk);
#define LOAD_A(M_) a[M_] = (vec_t)(xr[M_][k]);
#define FMA(M_, N_) acc[M_][N_] = fma(a[M_], b[N_], acc[M_][N_]);
#define STEP                                 \
    {                                        \
        const __global uchar* bk = panel + (size_t)k * PN * PANEL_VALUE_BYTES; \
        vec_t b[NB];                         \
        vec_t a[MB];                         \
        FOR_NB(LOAD_B)                       \
        FOR_MB(LOAD_A)                       \
        FOR_MB_NB(FMA)                       \
        k++;                                 \
    }
    int k = 0;
    for (; k + 4 <= K;) {
        STEP STEP STEP STEP
    }
    for (; k < K;) {
        STEP
    }
#undef STEP
#undef LOAD_A
#undef LOAD_B
#undef FMA

    // epilogue: bias, activation (VEC outputs at a time), residual; outputs past N are not stored
#define EPILOGUE(M_, N_)                                                                                     \
    {                                                                                                        \
        const int r = r0 + M_;                                                                               \
        const int n = n0 + N_ * VEC;                                                                         \
        if (r < R && n < N) {                                                                                \
            vec_t v = acc[M_][N_];                                                                           \
            float o[VEC];                                                                                    \
            if (n + VEC <= N) {                                                                              \
                if (has_bias) v += VLOAD(0, bias + n);                                                       \
                if (act != 0) v = activate(v, act);                                                          \
                __global float* yr = y + (size_t)r * N + n;                                                  \
                if (has_residual) v += VLOAD(0, residual + (size_t)r * N + n);                               \
                VSTORE(v, 0, yr);                                                                            \
            } else {                                                                                         \
                VSTORE(v, 0, o);                                                                             \
                for (int j = 0; j < N - n; j++) {                                                            \
                    float s = activate1(o[j] + (has_bias ? bias[n + j] : 0.0f), act);                        \
                    const size_t at = (size_t)r * N + n + j;                                                 \
                    y[at] = s + (has_residual ? residual[at] : 0.0f);                                        \
                }                                                                                            \
            }                                                                                                \
        }                                                                                                    \
    }
    FOR_MB_NB(EPILOGUE)
#undef EPILOGUE
}

// ---------------------------------------------------------------------------------------------- pack_rows_stored
// Packs F16 or BF16 weights W [N, K] for linear_packed without widening them: out [ceil(N / PN)][K][PN] of their
// 16-bit values as stored, out[p][k][j] = W[p*PN + j][k], zero for p*PN + j >= N; linear_packed built with the same
// WTYPE widens them in registers. Work-items as pack_rows's (p, 32-value chunk c).
#if WTYPE == WT_F16 || WTYPE == WT_BF16
__kernel __attribute__((reqd_work_group_size(1, 16, 1)))
void pack_rows_stored(__global const ushort* w,   // [N, K] 16-bit values
                      __global ushort* out,       // [ceil(N / PN)][K][PN]
                      const int N, const int K)
{
    const int p = get_global_id(0);
    const int c = get_global_id(1);
    const int k0 = c * 32;
    if (k0 >= K) {
        return;
    }
    const int kn = min(32, K - k0);
    __global ushort* dst = out + ((size_t)p * K + k0) * PN;
    for (int j = 0; j < PN; j++) {
        const int n = p * PN + j;
        const __global ushort* row = w + (size_t)min(n, N - 1) * K + k0;
        for (int k = 0; k < kn; k++) {
            dst[k * PN + j] = n < N ? row[k] : (ushort)0;
        }
    }
}
#endif

// ----------------------------------------------------------------------------------------------------- pack_rows
// Widens W [N, K] from WTYPE to float and packs it for linear_packed: out [ceil(N / PN)][K][PN], out[p][k][j] =
// W[p*PN + j][k], zero for p*PN + j >= N. Work-item (p, c) packs k = 32c .. 32c + 31 (fewer at the end of a float
// format's row) of panel p: it reads each of the panel's PN rows contiguously and scatters the values into their
// 32 * PN floats of the panel, one contiguous 2 KiB region (PN = 16) that stays in cache while it fills. One work-item
// per output row and chunk, or a local-memory tile shared by PN work-items, ran 4-10x slower: PoCL's cost per
// work-group dominated. Launched as a 2-D range: dimension 0 over the panels, 1 over the 32-value
// chunks of a row in groups of 16.
__kernel __attribute__((reqd_work_group_size(1, 16, 1)))
void pack_rows(__global const uchar* w,   // [N, K] in format WTYPE
               __global float* out,       // [ceil(N / PN)][K][PN]
               const int N, const int K)
{
    const int p = get_global_id(0);
    const int c = get_global_id(1);
    const int k0 = c * 32;
    if (k0 >= K) {
        return;
    }
    const int kn = min(32, K - k0);   // values of this chunk: 32 but at the end of a float format's row
    __global float* dst = out + ((size_t)p * K + k0) * PN;
    for (int j = 0; j < PN; j++) {
        const int n = p * PN + j;
        if (n >= N) {
            for (int k = 0; k < kn; k++) {
                dst[k * PN + j] = 0.0f;
            }
            continue;
        }
        const __global uchar* row = w + (size_t)n * WT_ROW_BYTES(WTYPE, K);
#if WTYPE == WT_Q8_0 || WTYPE == WT_Q4_0
        const __global uchar* blk = row + (size_t)c * WT_BLOCK_BYTES;
        const float16 d = (float16)(vload_half(0, (const __global half*)blk));
#if WTYPE == WT_Q8_0
        const float16 lo = d * convert_float16(vload16(0, (const __global char*)(blk + 2)));
        const float16 hi = d * convert_float16(vload16(1, (const __global char*)(blk + 2)));
#else
        const uchar16 packed = vload16(0, blk + 2);
        const float16 lo = d * convert_float16(as_char16(packed & (uchar16)(15)) - (char16)(8));
        const float16 hi = d * convert_float16(as_char16(packed >> (uchar16)(4)) - (char16)(8));
#endif
#define PUT(L) dst[0x##L * PN + j] = lo.s##L; dst[(16 + 0x##L) * PN + j] = hi.s##L;
        PUT(0) PUT(1) PUT(2) PUT(3) PUT(4) PUT(5) PUT(6) PUT(7) PUT(8) PUT(9) PUT(a) PUT(b) PUT(c) PUT(d) PUT(e) PUT(f)
#undef PUT
#else
        if (kn == 32) {
            // VEC-wide loads (k0 is a multiple of 32, so of VEC), scattered lane by lane
            for (int i = 0; i < 32 / VEC; i++) {
                const vec_t v = WLOAD(k0 / VEC + i, row);
#define PUT(L) dst[(i * VEC + 0x##L) * PN + j] = LANE(v, L);
                FOR_LANES(PUT)
#undef PUT
            }
        } else {
            for (int k = 0; k < kn; k++) {
                dst[k * PN + j] = WT_AT(WTYPE, row, k0 + k);
            }
        }
#endif
    }
}

// -------------------------------------------------------------------------------------------------- linear_tiled
// The GPU prefill variant (R > 16; float32 weights: narrow formats are widened by dequantize_rows first): a
// work-group of WG x WGR work-items computes a TM x TN tile of y (TM = WGR * MB rows, TN = WG * NB outputs), walking K
// TK values at a time. At each step the group copies the TM x TK block of x and the TN x TK block of W into local
// memory (consecutive work-items read consecutive k of one row: coalesced; values past R, N or K are zeros) and stores
// them k-major, each row padded by one float so that the transposing stores do not all fall in one bank. Then every
// work-item sums TK outer products into its MB x NB register block: rows ty + i * WGR and outputs tx + j * WG of the
// tile (strided, so that neighbouring work-items read neighbouring local words, and the outputs they store are
// contiguous). Two barriers per step. Epilogue as linear_rows: bias, activation, residual (which may be y).
// Tuning values: MB, NB (register block), WG, WGR (the group), TK (k per step); VEC is unused.
#if WTYPE == WT_F32
#define TM (WGR * MB)
#define TN (WG * NB)

__kernel __attribute__((reqd_work_group_size(WG, WGR, 1)))
void linear_tiled(__global const float* x,         // [R, K]
                  __global const float* w,         // [N, K] float32
                  __global const float* bias,      // [N], read when has_bias
                  __global const float* residual,  // [R, N], read when has_residual
                  __global float* y,               // [R, N]
                  const int R, const int N, const int K,
                  const int has_bias, const int has_residual, const int act)
{
    __local float xs[TK][TM + 1];   // xs[k][m] = x[m0 + m][k0 + k]
    __local float ws[TK][TN + 1];   // ws[k][n] = W[n0 + n][k0 + k]
    const int tx = get_local_id(0);
    const int ty = get_local_id(1);
    const int item = ty * WG + tx;
    const int n0 = get_group_id(0) * TN;
    const int m0 = get_group_id(1) * TM;

    float acc[MB][NB];
#define ZERO(M_, N_) acc[M_][N_] = 0.0f;
    FOR_MB_NB(ZERO)
#undef ZERO
#define LOAD_A(M_) a[M_] = xs[k][ty + M_ * WGR];
#define LOAD_B(N_) b[N_] = ws[k][tx + N_ * WG];
#define FMA(M_, N_) acc[M_][N_] = fma(a[M_], b[N_], acc[M_][N_]);
    for (int k0 = 0; k0 < K; k0 += TK) {
        // pass 1: the tiles of x and W at k0, zeros outside [R, K] and [N, K]
        for (int e = item; e < TM * TK; e += WG * WGR) {
            const int m = e / TK;
            const int k = e % TK;
            xs[k][m] = m0 + m < R && k0 + k < K ? x[(size_t)(m0 + m) * K + k0 + k] : 0.0f;
        }
        for (int e = item; e < TN * TK; e += WG * WGR) {
            const int n = e / TK;
            const int k = e % TK;
            ws[k][n] = n0 + n < N && k0 + k < K ? w[(size_t)(n0 + n) * K + k0 + k] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        // pass 2: TK outer products into the register block
        for (int k = 0; k < TK; k++) {
            float a[MB];
            float b[NB];
            FOR_MB(LOAD_A)
            FOR_NB(LOAD_B)
            FOR_MB_NB(FMA)
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
#undef LOAD_A
#undef LOAD_B
#undef FMA

#define STORE(M_, N_)                                                                   \
    {                                                                                   \
        const int r = m0 + ty + M_ * WGR;                                               \
        const int n = n0 + tx + N_ * WG;                                                \
        if (r < R && n < N) {                                                           \
            const float v = activate1(acc[M_][N_] + (has_bias ? bias[n] : 0.0f), act);  \
            const size_t at = (size_t)r * N + n;                                        \
            y[at] = v + (has_residual ? residual[at] : 0.0f);                           \
        }                                                                               \
    }
    FOR_MB_NB(STORE)
#undef STORE
}
#undef TM
#undef TN
#endif
