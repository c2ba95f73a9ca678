// transformer.cl: the small kernels around a transformer block's matrix products.
//
//   layernorm       y[r] = (x[r] - mean) / sqrt(var + eps) * weight + bias, one work-group per row; two passes
//                   (mean, then the variance of the deviations) for accuracy
//   rmsnorm         y[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight, one work-group per row (Llama-family models)
//   swiglu          y = silu(gate) * up elementwise, silu(g) = g / (1 + e^-g) in a form that never overflows
//   embed           y[r] = wte[token[r]] + wpe[position[r]], each table in its stored format (weights.h); with
//                   EMBED_POSITIONS 0, y[r] = wte[token[r]] and wpe and positions are never read
//   heads           q, k and v heads from the rows the projections wrote (offsets and row strides: GPT-2's fused
//                   [q | k | v] rows or three separate buffers) -> q [B, H, T, D], and k, v appended to the caches
//                   [B, Hkv, S_max, D] at row start[b] + t; the first rope_dims values of q and k rotated by a
//                   host-computed cos/sin table (rotary embeddings), the rest copied
//   merge_heads     [B, H, T, D] -> [B*T, C]
//   gather_rows     y[i] = x[rows[i]]: the rows whose logits are needed
//
// These move data or do little arithmetic per byte; they are a small share of a forward pass (see
// `gpu-infer profile`). Tuning values (-D): LN_WG, work-items per layernorm and rmsnorm row (a power of two);
// COPY_WG, work-items per group of the elementwise and copy kernels. Formats (-D): WTE_TYPE and WPE_TYPE, the stored
// formats of the token and position tables (weights.h; 0 = float); EMBED_POSITIONS, 1 to add the position table,
// 0 for models without one (Llama-family models rotate q and k instead).

#ifndef LN_WG
#define LN_WG 64
#endif
#ifndef COPY_WG
#define COPY_WG 64
#endif
#ifndef WTE_TYPE
#define WTE_TYPE 0
#endif
#ifndef WPE_TYPE
#define WPE_TYPE 0
#endif
#ifndef EMBED_POSITIONS
#define EMBED_POSITIONS 1
#endif

#include "weights.h"

__kernel __attribute__((reqd_work_group_size(LN_WG, 1, 1)))
void layernorm(__global const float* x,      // [R, C]
               __global const float* weight, // [C]
               __global const float* bias,   // [C]
               __global float* y,            // [R, C]
               const int C, const float eps)
{
    __local float partial[LN_WG];
    const int r = get_group_id(0);
    const int lid = get_local_id(0);
    const __global float* row = x + (size_t)r * C;

    // pass 1: mean
    float s = 0.0f;
    for (int c = lid; c < C; c += LN_WG) {
        s += row[c];
    }
    partial[lid] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = LN_WG / 2; stride > 0; stride /= 2) {
        if (lid < stride) {
            partial[lid] += partial[lid + stride];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float mean = partial[0] / C;
    barrier(CLK_LOCAL_MEM_FENCE);

    // pass 2: variance of the deviations
    float q = 0.0f;
    for (int c = lid; c < C; c += LN_WG) {
        const float d = row[c] - mean;
        q = fma(d, d, q);
    }
    partial[lid] = q;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = LN_WG / 2; stride > 0; stride /= 2) {
        if (lid < stride) {
            partial[lid] += partial[lid + stride];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float rstd = rsqrt(partial[0] / C + eps);

    // pass 3: normalise, scale, shift
    __global float* out = y + (size_t)r * C;
    for (int c = lid; c < C; c += LN_WG) {
        out[c] = fma((row[c] - mean) * rstd, weight[c], bias[c]);
    }
}

__kernel __attribute__((reqd_work_group_size(LN_WG, 1, 1)))
void rmsnorm(__global const float* x,      // [R, C]
             __global const float* weight, // [C]
             __global float* y,            // [R, C]
             const int C, const float eps)
{
    __local float partial[LN_WG];
    const int r = get_group_id(0);
    const int lid = get_local_id(0);
    const __global float* row = x + (size_t)r * C;

    // pass 1: sum of squares (all terms positive: no cancellation)
    float q = 0.0f;
    for (int c = lid; c < C; c += LN_WG) {
        q = fma(row[c], row[c], q);
    }
    partial[lid] = q;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = LN_WG / 2; stride > 0; stride /= 2) {
        if (lid < stride) {
            partial[lid] += partial[lid + stride];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float rstd = rsqrt(partial[0] / C + eps);

    // pass 2: scale
    __global float* out = y + (size_t)r * C;
    for (int c = lid; c < C; c += LN_WG) {
        out[c] = row[c] * rstd * weight[c];
    }
}

__kernel __attribute__((reqd_work_group_size(COPY_WG, 1, 1)))
void swiglu(__global const float* gate,       // [R, I]
            __global const float* up,         // [R, I]
            __global float* y,                // [R, I]; may be gate or up
            const int R, const int I)
{
    const int i = get_global_id(0);
    const int r = get_global_id(1);
    if (i >= I || r >= R) {
        return;
    }
    const size_t at = (size_t)r * I + i;
    const float g = gate[at];
    // sigmoid(g) from e^-|g|, which lies in (0, 1]: no overflow to infinity (g / (1 + e^-g) would divide -1e4 by
    // inf, and -inf by inf is NaN), and small for large |g| on either side
    const float e = exp(-fabs(g));
    const float sigmoid = g >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
    y[at] = g * sigmoid * up[at];
}

__kernel __attribute__((reqd_work_group_size(COPY_WG, 1, 1)))
void embed(__global const uchar* wte,        // [V, C] in format WTE_TYPE
           __global const uchar* wpe,        // [P, C] in format WPE_TYPE; not read (may be null) without EMBED_POSITIONS
           __global const int* tokens,       // [R]
           __global const int* positions,    // [R]; not read (may be null) without EMBED_POSITIONS
           __global float* y,                // [R, C]
           const int R, const int C)
{
    const int c = get_global_id(0);
    const int r = get_global_id(1);
    if (c >= C || r >= R) {
        return;
    }
    const __global uchar* token_row = wte + (size_t)tokens[r] * WT_ROW_BYTES(WTE_TYPE, C);
#if EMBED_POSITIONS
    const __global uchar* position_row = wpe + (size_t)positions[r] * WT_ROW_BYTES(WPE_TYPE, C);
    y[(size_t)r * C + c] = WT_AT(WTE_TYPE, token_row, c) + WT_AT(WPE_TYPE, position_row, c);
#else
    y[(size_t)r * C + c] = WT_AT(WTE_TYPE, token_row, c);
#endif
}

// One work-item per (row r = b*T + t, column): columns 0 .. H*D-1 are the query values (head c / D, value c % D),
// columns H*D .. (H+Hkv)*D-1 the key and value values of the Hkv key/value heads (one work-item writes both). A
// rotated value reads its pair partner from the source as well, so every output is written once and the sources are
// only read: q, k and v may all be one buffer (GPT-2's fused rows).
__kernel __attribute__((reqd_work_group_size(COPY_WG, 1, 1)))
void heads(__global const float* q_src,       // [B*T, q_stride]: query head h at columns q_offset + h*D ..
           __global const float* k_src,       // [B*T, kv_stride]: key head h at columns k_offset + h*D ..
           __global const float* v_src,       // [B*T, kv_stride]: value head h at columns v_offset + h*D ..
           __global const float* rope,        // [B*T, rope_dims/2, 2]: (cos, sin) of pair i at row r's position;
                                              // not read (may be null) when rope_dims is 0
           __global const int* start,         // [B]: cache row of token 0 of each batch entry
           __global float* q,                 // [B, H, T, D]
           __global float* k_cache,           // [B, Hkv, S_max, D]
           __global float* v_cache,           // [B, Hkv, S_max, D]
           const int B, const int T, const int H, const int Hkv, const int D, const int S_max,
           const int q_offset, const int q_stride, const int k_offset, const int v_offset, const int kv_stride,
           const int rope_dims,               // values rotated per head: even, 0 (a plain copy) .. D
           const int rope_halves)             // pairs (d, d + rope_dims/2) if 1, (2i, 2i+1) if 0
{
    const int c = get_global_id(0);
    const int r = get_global_id(1);
    if (c >= (H + Hkv) * D || r >= B * T) {
        return;
    }
    const int b = r / T;
    const int t = r % T;
    const bool is_query = c < H * D;
    const int h = is_query ? c / D : (c - H * D) / D;
    const int d = c % D;
    const __global float* src = is_query ? q_src + (size_t)r * q_stride + q_offset + h * D
                                         : k_src + (size_t)r * kv_stride + k_offset + h * D;
    float value = src[d];
    if (d < rope_dims) {
        // pair i = (first, second); this work-item's value is one of the two
        const int pairs = rope_dims / 2;
        const int i = rope_halves ? (d < pairs ? d : d - pairs) : d / 2;
        const bool is_first = rope_halves ? d < pairs : (d % 2) == 0;
        const int partner = rope_halves ? (is_first ? d + pairs : d - pairs) : (is_first ? d + 1 : d - 1);
        const float other = src[partner];
        const float cosine = rope[((size_t)r * pairs + i) * 2];
        const float sine = rope[((size_t)r * pairs + i) * 2 + 1];
        // first' = first cos - second sin; second' = first sin + second cos
        value = is_first ? fma(value, cosine, -other * sine) : fma(other, sine, value * cosine);
    }
    if (is_query) {
        q[(((size_t)b * H + h) * T + t) * D + d] = value;
    } else {
        const size_t cache = (((size_t)b * Hkv + h) * S_max + start[b] + t) * D + d;
        k_cache[cache] = value;
        v_cache[cache] = v_src[(size_t)r * kv_stride + v_offset + h * D + d];
    }
}

__kernel __attribute__((reqd_work_group_size(COPY_WG, 1, 1)))
void merge_heads(__global const float* x,     // [B, H, T, D]
                 __global float* y,           // [B*T, C]
                 const int B, const int T, const int H, const int D)
{
    const int c = get_global_id(0);
    const int r = get_global_id(1);
    const int C = H * D;
    if (c >= C || r >= B * T) {
        return;
    }
    const int b = r / T;
    const int t = r % T;
    y[(size_t)r * C + c] = x[(((size_t)b * H + c / D) * T + t) * D + c % D];
}

__kernel __attribute__((reqd_work_group_size(COPY_WG, 1, 1)))
void gather_rows(__global const float* x,     // [R_in, C]
                 __global const int* rows,    // [R_out]
                 __global float* y,           // [R_out, C]
                 const int R_out, const int C)
{
    const int c = get_global_id(0);
    const int i = get_global_id(1);
    if (c >= C || i >= R_out) {
        return;
    }
    y[(size_t)i * C + c] = x[(size_t)rows[i] * C + c];
}
