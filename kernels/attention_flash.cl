// attention_flash.cl: fused attention that never stores the S x S score matrix (online softmax over key tiles).
//
// Semantics are those of attention_naive.cl and the CPU reference: q [B,H,Sq,D], k and v [B,Hkv,kv_stride,D] (the
// first Sk rows of each kv head are used), out [B,H,Sq,D]; query head h reads kv head h / (H/Hkv); causal masking
// is bottom-right aligned (query i sees keys j <= i + Sk - Sq); key padding: batch b sees keys j < kv_lens[b]; a
// row that sees no key gets output 0 and log-sum-exp -inf. Every kernel writes each row's log-sum-exp (natural
// log) to lse [B,H,Sq], so partial results over disjoint key ranges can be merged.
//
// Variants (the host picks one per head size through two decision points, prefill and decode: CPU-shaped first on
// CPUs, GPU-shaped first on GPUs or with `--kernels gpu`; a variant whose kernel does not fit the device's limits
// is skipped with a warning. `gpu-infer attention --impl flash ...` prints the variant and the -D values):
//
//   flash_attention_tiled   prefill, CPU-shaped (variant "flash_tiled"). A work-group of WG work-items owns WG*QB
//                           consecutive query rows of one head; each work-item keeps QB rows' running max, sum and
//                           output in registers. K and V tiles of KT keys are staged in local memory, K transposed
//                           so that 8 (VEC) keys' scores come from one vector FMA per dimension: a QB x KT block of
//                           scores per step, reused across the QB rows (register blocking). Tiles wholly above the
//                           causal diagonal are skipped. Private state: QB * (2 D + KT) floats and more, hundreds
//                           at D=128: past a GPU's register file.
//   flash_dsplit            prefill, GPU-shaped. A work-group of QR x DT work-items owns QR query rows; the DT
//                           work-items of a row split D (work-item t owns dimensions t, t + DT, ...: D/DT floats
//                           of q and of the output, 32 private floats in all at D=128, DT=8). Scores are partial
//                           dot products reduced over the row's DT work-items in local memory; K and V tiles of DKT
//                           keys are staged in local memory row-major: the strided ownership makes a row's DT
//                           work-items read consecutive floats (different banks) and the rows read the same ones
//                           (a broadcast), so those tiles need no padding, and the score buffers, read across
//                           rows, have the odd row stride DKT + 1. Online softmax per row, the running max kept
//                           identically by the row's work-items (from their tile maxima in local memory), the sum
//                           as per-work-item parts added at the end. Tiles wholly above the causal diagonal of the
//                           group's last row are skipped.
//   flash_decode_split      decode (Sq <= DECODE_MAX_SQ, host-side; Sk long; "split-K"), CPU-shaped: one query row
//   flash_decode_merge      cannot fill a device, so the keys are cut into splits; each work-item runs the online
//                           softmax over one split and writes its partial (output, max, sum); the merge kernel
//                           combines the splits by their log-sum-exp. Workspace is O(B*H*Sq*splits*D).
//   flash_decode_dsplit     decode, GPU-shaped: a work-group per (split, row) of DEC_KL key lanes x DEC_DT
//                           work-items; a lane's work-items split D for the dot products (reduced in local memory)
//                           and for P.V; each lane runs its own online softmax over KB keys at a time; the lanes
//                           are merged at the end into the same partial layout, combined by flash_decode_merge.
//
// Accumulate (the last argument of flash_attention_tiled, flash_dsplit and flash_decode_merge, 0 for plain
// attention): out and lse hold a running result over other keys on entry (ring attention: the blocks a rank has
// already seen), and the kernel continues its online softmax from it instead of from nothing: a row with lse L and
// output O starts with running max L*log2(e), sum 1 and output O, exactly the state after those keys. The result
// equals attention over these keys merged into (O, L) by their log-sum-exp; a row with L = -inf starts empty, a row
// that sees no key here keeps (O, L). Each work-item reads only rows it writes.
//
// Test-only fault (never defined by the application): -DPLANTED_DSPLIT_WRONG makes flash_dsplit leave the last slice
// of D out of every score, so that tests prove the device self-test and comparisons catch a wrong variant
// (-DPLANTED_CAUSAL_OFF_BY_ONE likewise shifts every variant's causal mask by one key).
//
// Measured (`tools/bench_attention.sh`: `gpu-infer bench attention` beside PyTorch in one session; 2-core AVX-512
// machine, PoCL 3.1, B=1 H=12 D=64 causal, float32, medians of 7 runs; options as printed by the benchmark):
//   tiled      S=1024 16.7 ms (96 GFLOP/s), S=2048 46.2 ms (140), S=4096 166 ms (155): 62-101x the naive
//              path, 5.3-7.8x PyTorch's matmul+mask+softmax+matmul
//   split-k    decode Sk=4096 1.18 ms, Sk=32768 8.59 ms: K and V read at 21-23 GB/s
// with -DVEC=16 -DWG=16 -DQB=8 -DNB=2 -DCB=2 -DKT=64 -DSPLIT_WG=16 -DKB=8. Before the register blocks (one row
// per work-item, loop-indexed accumulators): S=1024 about 80 ms (20 GFLOP/s).
//
// The GPU-shaped variants measured on a CPU only (no GPU was available; they are correct on PoCL and on Oclgrind, a
// GPU-like simulator, but their speed on a GPU is unmeasured). 2-core AMD EPYC (AVX2), PoCL 3.1, shared with other
// builds (load average 6-10 on 2 cores: figures are the median and range of per-round medians over interleaved
// rounds, 3 for the GPU-shaped, 9 for the CPU-shaped), B=1 H=12 D=64 causal,
// `gpu-infer profile attention --shape 1,12,12,1024,1024,64 --causal --repeat 5` and
// `--shape 1,12,12,1,4096,64 --causal --repeat 9`, without and with `--kernels gpu`:
//   prefill S=1024   flash_attention_tiled  80 ms (48-181)    flash_dsplit         1.40 s (1.12-1.42): ~17x slower
//   decode Sk=4096   flash_decode_split     2.5 ms (1.7-6.7)  flash_decode_dsplit  28 ms (17-33), one split per row
// with -DVEC=8 -DWG=16 -DQB=4 -DNB=2 -DCB=2 -DKT=64 -DSPLIT_WG=16 -DKB=8 -DQR=8 -DDT=8 -DDKT=32 -DDEC_DT=8
// -DDEC_KL=8. PoCL runs a work-group as loops over its work-items between barriers, so state that lives across a
// barrier (q and output slices, five barriers per key tile) goes through memory: the D-split variants are for GPUs,
// and the CPU-shaped ones stay the default on CPUs, unchanged (the same kernels and launches; the build before the
// D-split variants, interleaved in the same rounds: 82 ms (43-113) and 3.2 ms (1.6-6.4)).
//
// Tuning values, all -D options with defaults so the file compiles on its own:
//   HEAD_DIM   D, the head size (compile-time so that loops over it unroll)
//   VEC        vector width in floats: 1, 2, 4, 8 or 16; must divide HEAD_DIM and KT
//   WG         work-items per group of flash_attention_tiled
//   QB         query rows per work-item of flash_attention_tiled
//   KT         keys per tile of flash_attention_tiled (local memory: 2 * KT * HEAD_DIM floats)
//   SPLIT_WG   work-items per group of flash_decode_split and flash_decode_merge
//   KB         keys per block inside a split (one max/rescale per block; per lane in flash_decode_dsplit)
//   QR         query rows per group of flash_dsplit
//   DT         work-items per query row of flash_dsplit (must divide HEAD_DIM); QR * DT per group
//   DKT        keys per tile of flash_dsplit (local memory: 2 DKT D + (QR DT + QR)(DKT + 1) + QR DT floats)
//   DEC_DT     work-items per key lane of flash_decode_dsplit (must divide HEAD_DIM)
//   DEC_KL     key lanes per group of flash_decode_dsplit; DEC_KL * DEC_DT per group

#ifndef HEAD_DIM
#define HEAD_DIM 64
#endif
#ifndef VEC
#define VEC 8
#endif
#ifndef WG
#define WG 16
#endif
#ifndef QB
#define QB 4
#endif
#ifndef KT
#define KT 64
#endif
#ifndef NB
#define NB 2
#endif
#ifndef CB
#define CB 2
#endif
#ifndef SPLIT_WG
#define SPLIT_WG 16
#endif
#ifndef KB
#define KB 8
#endif
#ifndef QR
#define QR 8
#endif
#ifndef DT
#define DT 8
#endif
#ifndef DKT
#define DKT 16
#endif
#ifndef DEC_DT
#define DEC_DT 8
#endif
#ifndef DEC_KL
#define DEC_KL 8
#endif

#define DV (HEAD_DIM / VEC)   // vectors per head row
#define KV (KT / VEC)         // vectors per tile of scores
#define QROWS (WG * QB)       // query rows per work-group

#if HEAD_DIM % VEC != 0 || KT % VEC != 0
#error "VEC must divide HEAD_DIM and KT"
#endif
#if KV % NB != 0 || DV % CB != 0
#error "NB must divide KT/VEC and CB must divide HEAD_DIM/VEC"
#endif
#if HEAD_DIM % DT != 0 || HEAD_DIM % DEC_DT != 0
#error "DT and DEC_DT must divide HEAD_DIM"
#endif

#define DSPLIT_DIMS (HEAD_DIM / DT)       // dimensions of q and of the output each flash_dsplit work-item owns
#define DSPLIT_WG (QR * DT)               // work-items per group of flash_dsplit
#define SCORE_STRIDE (DKT + 1)            // padded row stride of flash_dsplit's score buffers (odd: no bank conflicts)
#define DEC_DIMS (HEAD_DIM / DEC_DT)      // dimensions each flash_decode_dsplit work-item owns
#define DEC_WG (DEC_KL * DEC_DT)          // work-items per group of flash_decode_dsplit
#define DEC_PART_STRIDE (DEC_DT + 1)      // padded stride of its partial dot products
#define DEC_LANE_STRIDE (HEAD_DIM + DEC_DT) // padded stride of its per-lane outputs (lanes start in different banks)

#include "vectors.h"
#include "unroll.h"

#if QB > 8 || NB > 8 || CB > 8
#error "QB, NB and CB are at most 8"
#endif
#define FOR_NB(M) REP(NB, M)
#define FOR_CB(M) REP(CB, M)
// FOR_QB_NB(M) expands M(r, n) for every r < QB and n < NB (likewise FOR_QB_CB with CB)
#define FOR_QB_NB(M) ROWS(QB, NB, M)
#define FOR_QB_CB(M) ROWS(QB, CB, M)

// log2(e): scores are kept in base 2 so that exp2 replaces exp; lse converts back with ln(2).
#define LOG2E 1.4426950408889634f
#define LN2 0.6931471805599453f

// Keys 0 .. visible-1 are visible to query row i of a head whose batch entry has kv_len valid keys.
inline int visible_keys(const int i, const int Sq, const int Sk, const int kv_len, const int causal)
{
#ifdef PLANTED_CAUSAL_OFF_BY_ONE
    // A deliberate bug, built only by tests of `gpu-infer compare` (the application never defines it): each row
    // sees one key too many.
    return causal ? clamp(i + (Sk - Sq) + 2, 0, kv_len) : kv_len;
#else
    return causal ? clamp(i + (Sk - Sq) + 1, 0, kv_len) : kv_len;
#endif
}

__kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void flash_attention_tiled(__global const float* q,       // [B, H, Sq, D]
                           __global const float* k,       // [B, Hkv, kv_stride, D]
                           __global const float* v,       // [B, Hkv, kv_stride, D]
                           __global float* out,           // [B, H, Sq, D], the running output when accumulate
                           __global float* lse,           // [B, H, Sq], the running log-sum-exp when accumulate
                           __global const int* kv_lens,   // [B], read when use_kv_lens
                           const int H, const int Hkv, const int Sq, const int Sk, const int kv_stride,
                           const float scale, const int causal, const int use_kv_lens, const int accumulate)
{
    __local float k_tile[HEAD_DIM * KT];   // transposed: k_tile[d * KT + j] = k[t0 + j][d]
    __local float v_tile[KT * HEAD_DIM];   // v_tile[j * HEAD_DIM + d] = v[t0 + j][d]

    const int w = get_local_id(0);
    const int bh = get_group_id(1);
    const int b = bh / H;
    const int kv_head = (bh % H) / (H / Hkv);
    const int group_row0 = get_group_id(0) * QROWS;
    const int row0 = group_row0 + w * QB;
    const int kv_len = use_kv_lens ? clamp(kv_lens[b], 0, Sk) : Sk;
    // The group loads keys up to what its last row sees (uniform across the group: barriers need it).
    const int group_keys = visible_keys(min(Sq - 1, group_row0 + QROWS - 1), Sq, Sk, kv_len, causal);

    const __global float* k_head = k + ((size_t)b * Hkv + kv_head) * kv_stride * HEAD_DIM;
    const __global float* v_head = v + ((size_t)b * Hkv + kv_head) * kv_stride * HEAD_DIM;

    // Per-row state. Rows past Sq are zero and see no key.
    float q_rows[QB][HEAD_DIM];            // pre-scaled into base 2
    float p_rows[QB][KT];                  // this tile's scores, then probabilities
    vec_t acc[QB][DV];                     // running output, not yet divided by row_sum
    int visible[QB];
    float row_max[QB];
    float row_sum[QB];
    for (int r = 0; r < QB; r++) {
        const int row = row0 + r;
        const bool valid = row < Sq;
        const __global float* q_row = q + ((size_t)bh * Sq + (valid ? row : 0)) * HEAD_DIM;
        for (int d = 0; d < HEAD_DIM; d++) {
            q_rows[r][d] = valid ? q_row[d] * (scale * LOG2E) : 0.0f;
        }
        visible[r] = valid ? visible_keys(row, Sq, Sk, kv_len, causal) : 0;
        row_max[r] = -INFINITY;
        row_sum[r] = 0.0f;
        for (int c = 0; c < DV; c++) {
            acc[r][c] = (vec_t)(0.0f);
        }
        // accumulate: continue from the running (out, lse) of this row, unless it has seen no key yet
        const float running = accumulate && valid ? lse[(size_t)bh * Sq + row] : -INFINITY;
        if (running != -INFINITY) {
            row_max[r] = running * LOG2E;
            row_sum[r] = 1.0f;
            const __global float* out_row = out + ((size_t)bh * Sq + row) * HEAD_DIM;
            for (int c = 0; c < DV; c++) {
                acc[r][c] = VLOAD(c, out_row);
            }
        }
    }

    for (int t0 = 0; t0 < group_keys; t0 += KT) {
        // pass 1: stage the tile; keys past Sk are zero (their scores are masked, their values weigh 0)
        // VEC floats of a key row at a time: V is copied as is, K scattered into its transposed tile.
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int e = w; e < KT * DV; e += WG) {
            const int j = e / DV;
            const int c = e % DV;
            const bool in = t0 + j < Sk;
            const vec_t kk = in ? VLOAD(c, k_head + (size_t)(t0 + j) * HEAD_DIM) : (vec_t)(0.0f);
            const vec_t vv = in ? VLOAD(c, v_head + (size_t)(t0 + j) * HEAD_DIM) : (vec_t)(0.0f);
            VSTORE(vv, c, v_tile + j * HEAD_DIM);
#define SCATTER_K(L) k_tile[(c * VEC + 0x##L) * KT + j] = LANE(kk, L);
            FOR_LANES(SCATTER_K)
#undef SCATTER_K
        }
        barrier(CLK_LOCAL_MEM_FENCE);

        // pass 2: scores, a register block of QB rows x NB*VEC keys at a time, masked to -inf
        for (int jb = 0; jb < KV; jb += NB) {
            vec_t s[QB][NB];
#define ZERO_S(R, N) s[R][N] = (vec_t)(0.0f);
            FOR_QB_NB(ZERO_S)
#undef ZERO_S
            for (int d = 0; d < HEAD_DIM; d++) {
                vec_t kk[NB];
#define LOAD_K(N) kk[N] = VLOAD(0, k_tile + d * KT + (jb + N) * VEC);
                FOR_NB(LOAD_K)
#undef LOAD_K
#define FMA_S(R, N) s[R][N] = fma((vec_t)(q_rows[R][d]), kk[N], s[R][N]);
                FOR_QB_NB(FMA_S)
#undef FMA_S
            }
#define STORE_S(R, N)                                                                        \
            {                                                                                \
                const ivec_t key = (ivec_t)(t0 + (jb + N) * VEC) + IOTA;                     \
                VSTORE(select((vec_t)(-INFINITY), s[R][N], key < (ivec_t)(visible[R])),      \
                       0, &p_rows[R][(jb + N) * VEC]);                                       \
            }
            FOR_QB_NB(STORE_S)
#undef STORE_S
        }

        // pass 3: online softmax: new running max, rescale factor, probabilities (base 2)
        float rescale[QB];
        for (int r = 0; r < QB; r++) {
            vec_t m = (vec_t)(-INFINITY);
            for (int jc = 0; jc < KV; jc++) {
                m = fmax(m, VLOAD(jc, p_rows[r]));
            }
            const float new_max = fmax(row_max[r], HMAX(m));
            // A row that has seen no key yet keeps max -inf; subtracting 0 instead avoids -inf - -inf = NaN.
            const float shift = new_max == -INFINITY ? 0.0f : new_max;
            rescale[r] = exp2(row_max[r] - shift);
            vec_t sum = (vec_t)(0.0f);
            for (int jc = 0; jc < KV; jc++) {
                const vec_t p = exp2(VLOAD(jc, p_rows[r]) - shift);
                VSTORE(p, jc, p_rows[r]);
                sum += p;
            }
            row_sum[r] = row_sum[r] * rescale[r] + HSUM(sum);
            row_max[r] = new_max;
        }

        // pass 4: acc = acc * rescale + P . V_tile, a register block of QB rows x CB*VEC columns at a time
        for (int cb = 0; cb < DV; cb += CB) {
            vec_t o[QB][CB];
#define LOAD_O(R, N) o[R][N] = acc[R][cb + N] * rescale[R];
            FOR_QB_CB(LOAD_O)
#undef LOAD_O
            for (int j = 0; j < KT; j++) {
                vec_t vv[CB];
#define LOAD_V(N) vv[N] = VLOAD(cb + N, v_tile + j * HEAD_DIM);
                FOR_CB(LOAD_V)
#undef LOAD_V
#define FMA_O(R, N) o[R][N] = fma((vec_t)(p_rows[R][j]), vv[N], o[R][N]);
                FOR_QB_CB(FMA_O)
#undef FMA_O
            }
#define STORE_O(R, N) acc[R][cb + N] = o[R][N];
            FOR_QB_CB(STORE_O)
#undef STORE_O
        }
    }

    // pass 5: normalise and write; rows that saw no key write zeros and lse -inf
    for (int r = 0; r < QB; r++) {
        const int row = row0 + r;
        if (row < Sq) {
            const float inv = row_sum[r] > 0.0f ? 1.0f / row_sum[r] : 0.0f;
            __global float* out_row = out + ((size_t)bh * Sq + row) * HEAD_DIM;
            for (int c = 0; c < DV; c++) {
                VSTORE(acc[r][c] * inv, c, out_row);
            }
            lse[(size_t)bh * Sq + row] = row_sum[r] > 0.0f ? (row_max[r] + log2(row_sum[r])) * LN2 : -INFINITY;
        }
    }
}

// Prefill, GPU-shaped: a work-group of QR x DT work-items owns QR consecutive query rows of one head; the DT
// work-items of a row share it and split D: work-item t owns dimensions t, t + DT, t + 2 DT, ... of q and of the
// output (DSPLIT_DIMS of each: 32 private floats at D=128, DT=8, where flash_attention_tiled keeps hundreds). The
// strided ownership makes the DT work-items of a row read DT consecutive floats of a K or V tile row (different
// banks) while the rows of the group read the same address (a broadcast), so the K and V tiles need no padding;
// the score buffers, which the work-items read across rows, have an odd row stride (DKT + 1) instead.
__kernel __attribute__((reqd_work_group_size(DSPLIT_WG, 1, 1)))
void flash_dsplit(__global const float* q,       // [B, H, Sq, D]
                  __global const float* k,       // [B, Hkv, kv_stride, D]
                  __global const float* v,       // [B, Hkv, kv_stride, D]
                  __global float* out,           // [B, H, Sq, D], the running output when accumulate
                  __global float* lse,           // [B, H, Sq], the running log-sum-exp when accumulate
                  __global const int* kv_lens,   // [B], read when use_kv_lens
                  const int H, const int Hkv, const int Sq, const int Sk, const int kv_stride,
                  const float scale, const int causal, const int use_kv_lens, const int accumulate)
{
    __local float k_tile[DKT * HEAD_DIM];             // k_tile[j * HEAD_DIM + d] = k[t0 + j][d]
    __local float v_tile[DKT * HEAD_DIM];             // v_tile[j * HEAD_DIM + d] = v[t0 + j][d]
    __local float partial[DSPLIT_WG * SCORE_STRIDE];  // [QR * DT, DKT + 1]: work-item (r, t)'s share of q_r . k_j
    __local float probs[QR * SCORE_STRIDE];           // [QR, DKT + 1]: row r's scores of the tile, then probabilities
    __local float shared_stat[DSPLIT_WG];             // per work-item: its keys' maximum, at the end its partial sum

    const int lid = get_local_id(0);
    const int r = lid / DT;                           // the group's row this work-item serves
    const int t = lid % DT;                           // its slice of D: dimensions t + DT * i
    const int bh = get_group_id(1);
    const int b = bh / H;
    const int kv_head = (bh % H) / (H / Hkv);
    const int group_row0 = get_group_id(0) * QR;
    const int row = group_row0 + r;
    const bool valid = row < Sq;
    const int kv_len = use_kv_lens ? clamp(kv_lens[b], 0, Sk) : Sk;
    // The group loads keys up to what its last row sees (uniform across the group: barriers need it). Rows past Sq
    // and rows that see no key take part in every barrier and weigh every key 0.
    const int group_keys = visible_keys(min(Sq - 1, group_row0 + QR - 1), Sq, Sk, kv_len, causal);
    const int visible = valid ? visible_keys(row, Sq, Sk, kv_len, causal) : 0;

    const __global float* k_head = k + ((size_t)b * Hkv + kv_head) * kv_stride * HEAD_DIM;
    const __global float* v_head = v + ((size_t)b * Hkv + kv_head) * kv_stride * HEAD_DIM;
    const __global float* q_row = q + ((size_t)bh * Sq + (valid ? row : 0)) * HEAD_DIM;

    float q_slice[DSPLIT_DIMS];                       // pre-scaled into base 2
    float acc[DSPLIT_DIMS];                           // this slice of the running output, not yet divided by the sum
#pragma unroll
    for (int i = 0; i < DSPLIT_DIMS; i++) {
        q_slice[i] = valid ? q_row[t + DT * i] * (scale * LOG2E) : 0.0f;
        acc[i] = 0.0f;
    }
    float row_max = -INFINITY;                        // identical in the DT work-items of a row
    float sum_part = 0.0f;                            // the sum over this work-item's keys t, t + DT, ... (rescaled)
    // accumulate: continue from the row's running (out, lse), its sum 1 held by the row's work-item 0; every read of
    // lse here comes before the barrier (with a global fence) that precedes work-item 0's write of it at the end
    const float running = accumulate && valid ? lse[(size_t)bh * Sq + row] : -INFINITY;
    if (running != -INFINITY) {
        row_max = running * LOG2E;
        sum_part = t == 0 ? 1.0f : 0.0f;
        const __global float* out_row = out + ((size_t)bh * Sq + row) * HEAD_DIM;
#pragma unroll
        for (int i = 0; i < DSPLIT_DIMS; i++) {
            acc[i] = out_row[t + DT * i];
        }
    }

    for (int t0 = 0; t0 < group_keys; t0 += DKT) {
        const int tile_keys = min(DKT, group_keys - t0);   // all within kv_len <= Sk

        // pass 1: stage the tile's keys and values, coalesced
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int e = lid; e < tile_keys * HEAD_DIM; e += DSPLIT_WG) {
            k_tile[e] = k_head[(size_t)t0 * HEAD_DIM + e];
            v_tile[e] = v_head[(size_t)t0 * HEAD_DIM + e];
        }
        barrier(CLK_LOCAL_MEM_FENCE);

        // pass 2: each work-item's partial dot products over its slice of D, for every key of the tile
        for (int j = 0; j < tile_keys; j++) {
            float dot = 0.0f;
#pragma unroll
            for (int i = 0; i < DSPLIT_DIMS; i++) {
                dot = fma(q_slice[i], k_tile[j * HEAD_DIM + t + DT * i], dot);
            }
#ifdef PLANTED_DSPLIT_WRONG
            // A deliberate bug, built only by tests (the application never defines it): the last slice of D is
            // left out of every score.
            if (t == DT - 1) {
                dot = 0.0f;
            }
#endif
            partial[lid * SCORE_STRIDE + j] = dot;
        }
        barrier(CLK_LOCAL_MEM_FENCE);

        // pass 3: the row's scores, work-item t reducing keys t, t + DT, ... over the DT slices; masked to -inf
        float tile_max = -INFINITY;
        for (int j = t; j < tile_keys; j += DT) {
            float s = 0.0f;
            for (int u = 0; u < DT; u++) {
                s += partial[(r * DT + u) * SCORE_STRIDE + j];
            }
            s = t0 + j < visible ? s : -INFINITY;
            probs[r * SCORE_STRIDE + j] = s;
            tile_max = fmax(tile_max, s);
        }
        shared_stat[lid] = tile_max;
        barrier(CLK_LOCAL_MEM_FENCE);

        // pass 4: online softmax: the row's new maximum (the same in each of its work-items), probabilities of
        // this work-item's keys
        float new_max = row_max;
        for (int u = 0; u < DT; u++) {
            new_max = fmax(new_max, shared_stat[r * DT + u]);
        }
        // A row that has seen no key yet keeps max -inf; subtracting 0 instead avoids -inf - -inf = NaN.
        const float shift = new_max == -INFINITY ? 0.0f : new_max;
        const float rescale = exp2(row_max - shift);
        sum_part *= rescale;
        for (int j = t; j < tile_keys; j += DT) {
            const float p = exp2(probs[r * SCORE_STRIDE + j] - shift);
            probs[r * SCORE_STRIDE + j] = p;
            sum_part += p;
        }
        row_max = new_max;
        barrier(CLK_LOCAL_MEM_FENCE);

        // pass 5: acc = acc * rescale + P . V_tile over this work-item's slice of D
#pragma unroll
        for (int i = 0; i < DSPLIT_DIMS; i++) {
            acc[i] *= rescale;
        }
        for (int j = 0; j < tile_keys; j++) {
            const float p = probs[r * SCORE_STRIDE + j];
#pragma unroll
            for (int i = 0; i < DSPLIT_DIMS; i++) {
                acc[i] = fma(p, v_tile[j * HEAD_DIM + t + DT * i], acc[i]);
            }
        }
    }

    // pass 6: the row's sum from its work-items' partial sums (every read of shared_stat in the loop happened
    // before the loop's last barrier), then normalise and write; rows that saw no key write zeros and lse -inf
    // The global fence orders the row's reads of the running lse (accumulate) before work-item 0 writes it below.
    shared_stat[lid] = sum_part;
    barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
    float row_sum = 0.0f;
    for (int u = 0; u < DT; u++) {
        row_sum += shared_stat[r * DT + u];
    }
    if (valid) {
        const float inv = row_sum > 0.0f ? 1.0f / row_sum : 0.0f;
        __global float* out_row = out + ((size_t)bh * Sq + row) * HEAD_DIM;
#pragma unroll
        for (int i = 0; i < DSPLIT_DIMS; i++) {
            out_row[t + DT * i] = acc[i] * inv;
        }
        if (t == 0) {
            lse[(size_t)bh * Sq + row] = row_sum > 0.0f ? (row_max + log2(row_sum)) * LN2 : -INFINITY;
        }
    }
}

// Decode: work-item (split, row, bh) runs the online softmax over keys [split * keys_per_split, +keys_per_split)
// of its row and writes the partial output (not normalised) and its running max and sum (base 2).
__kernel __attribute__((reqd_work_group_size(SPLIT_WG, 1, 1)))
void flash_decode_split(__global const float* q,          // [B, H, Sq, D]
                        __global const float* k,          // [B, Hkv, kv_stride, D]
                        __global const float* v,          // [B, Hkv, kv_stride, D]
                        __global float* part_out,         // [B, H, Sq, splits, D]
                        __global float* part_stats,       // [B, H, Sq, splits, 2]: max, sum (base 2)
                        __global const int* kv_lens,      // [B], read when use_kv_lens
                        const int H, const int Hkv, const int Sq, const int Sk, const int kv_stride,
                        const float scale, const int causal, const int use_kv_lens,
                        const int splits, const int keys_per_split)
{
    const int split = get_global_id(0);
    const int row = get_global_id(1);
    const int bh = get_global_id(2);
    if (split >= splits) {
        return;
    }
    const int b = bh / H;
    const int kv_head = (bh % H) / (H / Hkv);
    const int kv_len = use_kv_lens ? clamp(kv_lens[b], 0, Sk) : Sk;
    const int visible = visible_keys(row, Sq, Sk, kv_len, causal);
    const int begin = split * keys_per_split;
    const int end = min(begin + keys_per_split, visible);

    const __global float* k_head = k + ((size_t)b * Hkv + kv_head) * kv_stride * HEAD_DIM;
    const __global float* v_head = v + ((size_t)b * Hkv + kv_head) * kv_stride * HEAD_DIM;
    const __global float* q_row = q + ((size_t)bh * Sq + row) * HEAD_DIM;

    vec_t qv[DV];
    vec_t acc[DV];
#pragma unroll
    for (int c = 0; c < DV; c++) {
        qv[c] = VLOAD(c, q_row) * (scale * LOG2E);
        acc[c] = (vec_t)(0.0f);
    }
    float run_max = -INFINITY;
    float run_sum = 0.0f;

    for (int j0 = begin; j0 < end; j0 += KB) {
        // pass 1: scores of up to KB keys
        float s[KB];
        float block_max = -INFINITY;
#pragma unroll
        for (int j = 0; j < KB; j++) {
            float dot = -INFINITY;
            if (j0 + j < end) {
                const __global float* k_row = k_head + (size_t)(j0 + j) * HEAD_DIM;
                vec_t partial = (vec_t)(0.0f);
#pragma unroll
                for (int c = 0; c < DV; c++) {
                    partial = fma(qv[c], VLOAD(c, k_row), partial);
                }
                dot = HSUM(partial);
            }
            s[j] = dot;
            block_max = fmax(block_max, dot);
        }
        // pass 2: rescale the running state once per block, then add the block's weighted values
        const float new_max = fmax(run_max, block_max);
        const float rescale = exp2(run_max - new_max);
        run_sum *= rescale;
#pragma unroll
        for (int c = 0; c < DV; c++) {
            acc[c] *= rescale;
        }
#pragma unroll
        for (int j = 0; j < KB; j++) {
            if (j0 + j < end) {
                const float p = exp2(s[j] - new_max);
                run_sum += p;
                const __global float* v_row = v_head + (size_t)(j0 + j) * HEAD_DIM;
#pragma unroll
                for (int c = 0; c < DV; c++) {
                    acc[c] = fma((vec_t)(p), VLOAD(c, v_row), acc[c]);
                }
            }
        }
        run_max = new_max;
    }

    const size_t part = ((size_t)bh * Sq + row) * splits + split;
#pragma unroll
    for (int c = 0; c < DV; c++) {
        VSTORE(acc[c], c, part_out + part * HEAD_DIM);
    }
    part_stats[2 * part] = run_max;
    part_stats[2 * part + 1] = run_sum;
}

// Decode, GPU-shaped: one work-group per (split, row, bh) of DEC_KL key lanes x DEC_DT work-items. The work-items
// of a lane split D (work-item t owns dimensions t + DEC_DT * i of q and of the lane's output); each lane runs its
// own online softmax over KB keys of the split at a time (lane l takes keys j0 + l*KB .. j0 + l*KB + KB-1), the dot
// products reduced over the lane's DEC_DT slices in local memory (double-buffered: one barrier per step). At the end
// the lanes are merged by their maxima and the group writes the same partial (output, max, sum) as
// flash_decode_split, so flash_decode_merge combines either.
__kernel __attribute__((reqd_work_group_size(DEC_WG, 1, 1)))
void flash_decode_dsplit(__global const float* q,          // [B, H, Sq, D]
                         __global const float* k,          // [B, Hkv, kv_stride, D]
                         __global const float* v,          // [B, Hkv, kv_stride, D]
                         __global float* part_out,         // [B, H, Sq, splits, D]
                         __global float* part_stats,       // [B, H, Sq, splits, 2]: max, sum (base 2)
                         __global const int* kv_lens,      // [B], read when use_kv_lens
                         const int H, const int Hkv, const int Sq, const int Sk, const int kv_stride,
                         const float scale, const int causal, const int use_kv_lens,
                         const int splits, const int keys_per_split)
{
    __local float partial[2][DEC_KL * KB * DEC_PART_STRIDE]; // [step parity][lane, key, slice (padded)]
    __local float lane_out[DEC_KL * DEC_LANE_STRIDE];        // [lane, D (padded)]: each lane's output, weighted
    __local float lane_stats[2 * DEC_KL];                    // each lane's max, then its weighted sum

    const int lid = get_local_id(0);
    const int lane = lid / DEC_DT;
    const int t = lid % DEC_DT;
    const int split = get_group_id(0);
    const int row = get_global_id(1);
    const int bh = get_global_id(2);
    const int b = bh / H;
    const int kv_head = (bh % H) / (H / Hkv);
    const int kv_len = use_kv_lens ? clamp(kv_lens[b], 0, Sk) : Sk;
    const int visible = visible_keys(row, Sq, Sk, kv_len, causal);
    const int begin = split * keys_per_split;
    const int end = min(begin + keys_per_split, visible);   // uniform across the group: one row per group

    const __global float* k_head = k + ((size_t)b * Hkv + kv_head) * kv_stride * HEAD_DIM;
    const __global float* v_head = v + ((size_t)b * Hkv + kv_head) * kv_stride * HEAD_DIM;
    const __global float* q_row = q + ((size_t)bh * Sq + row) * HEAD_DIM;

    float q_slice[DEC_DIMS];
    float acc[DEC_DIMS];
#pragma unroll
    for (int i = 0; i < DEC_DIMS; i++) {
        q_slice[i] = q_row[t + DEC_DT * i] * (scale * LOG2E);
        acc[i] = 0.0f;
    }
    float run_max = -INFINITY;   // this lane's, identical in its DEC_DT work-items
    float run_sum = 0.0f;

    int parity = 0;
    for (int j0 = begin; j0 < end; j0 += DEC_KL * KB) {
        const int first = j0 + lane * KB;
        __local float* part = partial[parity];
        // pass 1: partial dot products of this lane's KB keys over this work-item's slice of D
        for (int j = 0; j < KB; j++) {
            float dot = 0.0f;
            if (first + j < end) {
                const __global float* k_row = k_head + (size_t)(first + j) * HEAD_DIM;
#pragma unroll
                for (int i = 0; i < DEC_DIMS; i++) {
                    dot = fma(q_slice[i], k_row[t + DEC_DT * i], dot);
                }
            }
            part[(lane * KB + j) * DEC_PART_STRIDE + t] = dot;
        }
        // One barrier per step: the other buffer is written next step, and every read of it (the step before)
        // happened before this barrier.
        barrier(CLK_LOCAL_MEM_FENCE);

        // pass 2: the lane's scores (each of its work-items reduces all of them: no second barrier), one rescale
        // per block, then the block's weighted values over this work-item's slice
        float s[KB];
        float block_max = -INFINITY;
        for (int j = 0; j < KB; j++) {
            float dot = 0.0f;
            for (int u = 0; u < DEC_DT; u++) {
                dot += part[(lane * KB + j) * DEC_PART_STRIDE + u];
            }
            s[j] = first + j < end ? dot : -INFINITY;
            block_max = fmax(block_max, s[j]);
        }
        if (block_max != -INFINITY) {
            const float new_max = fmax(run_max, block_max);
            const float rescale = exp2(run_max - new_max);
            run_sum *= rescale;
#pragma unroll
            for (int i = 0; i < DEC_DIMS; i++) {
                acc[i] *= rescale;
            }
            for (int j = 0; j < KB; j++) {
                if (first + j < end) {
                    const float p = exp2(s[j] - new_max);
                    run_sum += p;
                    const __global float* v_row = v_head + (size_t)(first + j) * HEAD_DIM;
#pragma unroll
                    for (int i = 0; i < DEC_DIMS; i++) {
                        acc[i] = fma(p, v_row[t + DEC_DT * i], acc[i]);
                    }
                }
            }
            run_max = new_max;
        }
        parity ^= 1;
    }

    // pass 3: merge the lanes by their maxima into the split's partial (output not normalised, max, sum)
    if (t == 0) {
        lane_stats[lane] = run_max;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    float split_max = -INFINITY;
    for (int l = 0; l < DEC_KL; l++) {
        split_max = fmax(split_max, lane_stats[l]);
    }
    const float weight = exp2(run_max - (split_max == -INFINITY ? 0.0f : split_max));   // 0 for a lane without keys
#pragma unroll
    for (int i = 0; i < DEC_DIMS; i++) {
        lane_out[lane * DEC_LANE_STRIDE + t + DEC_DT * i] = acc[i] * weight;
    }
    if (t == 0) {
        lane_stats[DEC_KL + lane] = run_sum * weight;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    const size_t part = ((size_t)bh * Sq + row) * splits + split;
    for (int d = lid; d < HEAD_DIM; d += DEC_WG) {
        float o = 0.0f;
        for (int l = 0; l < DEC_KL; l++) {
            o += lane_out[l * DEC_LANE_STRIDE + d];
        }
        part_out[part * HEAD_DIM + d] = o;
    }
    if (lid == 0) {
        float sum = 0.0f;
        for (int l = 0; l < DEC_KL; l++) {
            sum += lane_stats[DEC_KL + l];
        }
        part_stats[2 * part] = split_max;
        part_stats[2 * part + 1] = sum;
    }
}

// Decode merge: one work-item per query row combines its splits by their log-sum-exp and normalises.
__kernel __attribute__((reqd_work_group_size(SPLIT_WG, 1, 1)))
void flash_decode_merge(__global const float* part_out,   // [B, H, Sq, splits, D]
                        __global const float* part_stats, // [B, H, Sq, splits, 2]
                        __global float* out,              // [B, H, Sq, D], the running output when accumulate
                        __global float* lse,              // [B, H, Sq], the running log-sum-exp when accumulate
                        const int rows, const int splits,  // rows = B * H * Sq
                        const int accumulate)
{
    const int row = get_global_id(0);
    if (row >= rows) {
        return;
    }
    const __global float* stats = part_stats + (size_t)row * splits * 2;
    // accumulate: the running (out, lse) joins as one more part, with max lse*log2(e) and sum 1
    const float running = accumulate ? lse[row] : -INFINITY;
    const float running_max = running * LOG2E;
    float max_all = running == -INFINITY ? -INFINITY : running_max;
    for (int s = 0; s < splits; s++) {
        max_all = fmax(max_all, stats[2 * s]);
    }
    vec_t acc[DV];
#pragma unroll
    for (int c = 0; c < DV; c++) {
        acc[c] = (vec_t)(0.0f);
    }
    float sum = 0.0f;
    if (max_all != -INFINITY) {
        if (running != -INFINITY) {
            const float weight = exp2(running_max - max_all);
            sum = weight;
#pragma unroll
            for (int c = 0; c < DV; c++) {
                acc[c] = (vec_t)(weight) * VLOAD(c, out + (size_t)row * HEAD_DIM);
            }
        }
        for (int s = 0; s < splits; s++) {
            const float weight = exp2(stats[2 * s] - max_all);   // 0 for a split that saw no key
            sum += stats[2 * s + 1] * weight;
            const __global float* part = part_out + ((size_t)row * splits + s) * HEAD_DIM;
#pragma unroll
            for (int c = 0; c < DV; c++) {
                acc[c] = fma((vec_t)(weight), VLOAD(c, part), acc[c]);
            }
        }
    }
    const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
#pragma unroll
    for (int c = 0; c < DV; c++) {
        VSTORE(acc[c] * inv, c, out + (size_t)row * HEAD_DIM);
    }
    lse[row] = sum > 0.0f ? (max_all + log2(sum)) * LN2 : -INFINITY;
}
