// transformer.cl: the small kernels around a transformer block's matrix products.
//
//   layernorm       y[r] = (x[r] - mean) / sqrt(var + eps) * weight + bias, one work-group per row; two passes
//                   (mean, then the variance of the deviations) for accuracy
//   embed           y[r] = wte[token[r]] + wpe[position[r]], each table in its stored format (weights.h)
//   qkv_to_heads    qkv [B*T, 3C] -> q [B, H, T, D], and k, v appended to the caches [B, H, S_max, D] at row
//                   start[b] + t of each batch entry
//   merge_heads     [B, H, T, D] -> [B*T, C]
//   gather_rows     y[i] = x[rows[i]]: the rows whose logits are needed
//
// These move data or do little arithmetic per byte; they are a small share of a forward pass (see
// `gpu-infer profile`). Tuning values (-D): LN_WG, work-items per layernorm row (a power of two); COPY_WG,
// work-items per group of the copy kernels. Formats (-D): WTE_TYPE and WPE_TYPE, the stored formats of the token
// and position tables (weights.h; 0 = float).

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

__kernel __attribute__((reqd_work_group_size(COPY_WG, 1, 1)))
void embed(__global const uchar* wte,        // [V, C] in format WTE_TYPE
           __global const uchar* wpe,        // [P, C] in format WPE_TYPE
           __global const int* tokens,       // [R]
           __global const int* positions,    // [R]
           __global float* y,                // [R, C]
           const int R, const int C)
{
    const int c = get_global_id(0);
    const int r = get_global_id(1);
    if (c >= C || r >= R) {
        return;
    }
    const __global uchar* token_row = wte + (size_t)tokens[r] * WT_ROW_BYTES(WTE_TYPE, C);
    const __global uchar* position_row = wpe + (size_t)positions[r] * WT_ROW_BYTES(WPE_TYPE, C);
    y[(size_t)r * C + c] = WT_AT(WTE_TYPE, token_row, c) + WT_AT(WPE_TYPE, position_row, c);
}

__kernel __attribute__((reqd_work_group_size(COPY_WG, 1, 1)))
void qkv_to_heads(__global const float* qkv,  // [B*T, 3C]
                  __global float* q,          // [B, H, T, D]
                  __global float* k_cache,    // [B, H, S_max, D]
                  __global float* v_cache,    // [B, H, S_max, D]
                  __global const int* start,  // [B]: cache row of token 0 of each batch entry
                  const int B, const int T, const int H, const int D, const int S_max)
{
    const int c = get_global_id(0);           // 0 .. C-1 = h * D + d
    const int r = get_global_id(1);           // 0 .. B*T-1 = b * T + t
    const int C = H * D;
    if (c >= C || r >= B * T) {
        return;
    }
    const int b = r / T;
    const int t = r % T;
    const int h = c / D;
    const int d = c % D;
    const __global float* row = qkv + (size_t)r * 3 * C;
    q[(((size_t)b * H + h) * T + t) * D + d] = row[c];
    const size_t cache = (((size_t)b * H + h) * S_max + start[b] + t) * D + d;
    k_cache[cache] = row[C + c];
    v_cache[cache] = row[2 * C + c];
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
