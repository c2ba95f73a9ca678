// interventions.cl: changes to one attention head's output, for `--ablate`, `--scale-head` and `--attend-mask`
// (gpuinfer.ops.HeadInterventions; CPU reference there). They run only when a forward pass has interventions, so
// their speed does not matter; each is written for plain correctness: every access in bounds, no shared writes.
//
//   scale_head             x[b, head, t, :] *= factor over x [B, H, T, D], one work-item per value; factor 0 writes
//                          0 (an ablated head), so even a non-finite value is cleared
//   masked_head_attention  out[b, head, t, :] = attention of that head's query row over the keys it sees (causal and
//                          key-padding limit: visible[b*T + t]), minus the hidden key ranges, with its own softmax;
//                          a row left with no key gets 0. One work-group of MASK_WG work-items per query row: per
//                          chunk of MASK_WG keys, work-item i scores key i into local memory, then every work-item
//                          folds the chunk into its output values (d = lid, lid + MASK_WG, ...) with an online softmax
//
// Tuning values (-D): COPY_WG, work-items per group of scale_head; MASK_WG, work-items per query row of
// masked_head_attention; HEAD_DIM_MAX, the largest head size masked_head_attention accepts (the host checks D).

#ifndef COPY_WG
#define COPY_WG 64
#endif
#ifndef MASK_WG
#define MASK_WG 64
#endif
#ifndef HEAD_DIM_MAX
#define HEAD_DIM_MAX 256
#endif

// output values per work-item of masked_head_attention
#define VALUES_PER_ITEM ((HEAD_DIM_MAX + MASK_WG - 1) / MASK_WG)

__kernel __attribute__((reqd_work_group_size(COPY_WG, 1, 1)))
void scale_head(__global float* x,            // [B, H, T, D]; head `head` changed in place
                const int B, const int H, const int T, const int D, const int head, const float factor)
{
    const int i = get_global_id(0);           // t * D + d
    const int b = get_global_id(1);
    if (i >= T * D || b >= B) {
        return;
    }
    const size_t at = ((size_t)b * H + head) * T * D + i;
    x[at] = factor == 0.0f ? 0.0f : x[at] * factor;
}

__kernel __attribute__((reqd_work_group_size(MASK_WG, 1, 1)))
void masked_head_attention(__global const float* q,        // [B, H, T, D]
                           __global const float* k_cache,  // [B, Hkv, S_max, D]
                           __global const float* v_cache,  // [B, Hkv, S_max, D]
                           __global const int* visible,    // [B*T]: keys 0 .. visible-1 seen by row b*T + t (<= S_max)
                           __global const int* hidden,     // [n_hidden, 2]: inclusive key ranges (from, to) to hide
                           __global float* out,            // [B, H, T, D]; only head `head` is written
                           const int T, const int H, const int Hkv, const int D, const int S_max,
                           const int head, const int n_hidden, const float scale)
{
    __local float scores[MASK_WG];
    const int r = get_group_id(0);            // b * T + t
    const int lid = get_local_id(0);
    const int b = r / T;
    const int t = r % T;
    const int kv_head = head / (H / Hkv);
    const __global float* q_row = q + (((size_t)b * H + head) * T + t) * D;
    const __global float* keys = k_cache + ((size_t)b * Hkv + kv_head) * S_max * D;
    const __global float* values = v_cache + ((size_t)b * Hkv + kv_head) * S_max * D;
    const int n = visible[r];

    float running_max = -INFINITY;
    float running_sum = 0.0f;
    float acc[VALUES_PER_ITEM];
    for (int a = 0; a < VALUES_PER_ITEM; a++) {
        acc[a] = 0.0f;
    }
    for (int j0 = 0; j0 < n; j0 += MASK_WG) {
        // this work-item's key of the chunk: its scaled score, or -inf when past n or hidden
        const int j = j0 + lid;
        float score = -INFINITY;
        bool shown = j < n;
        for (int m = 0; m < n_hidden && shown; m++) {
            shown = j < hidden[2 * m] || j > hidden[2 * m + 1];
        }
        if (shown) {
            float dot = 0.0f;
            for (int d = 0; d < D; d++) {
                dot = fma(q_row[d], keys[(size_t)j * D + d], dot);
            }
            score = dot * scale;
        }
        scores[lid] = score;
        barrier(CLK_LOCAL_MEM_FENCE);
        // every work-item folds the whole chunk (the same values, so the same decisions) into its output values
        const int chunk = min(MASK_WG, n - j0);
        float chunk_max = -INFINITY;
        for (int c = 0; c < chunk; c++) {
            chunk_max = fmax(chunk_max, scores[c]);
        }
        if (chunk_max > -INFINITY) {
            const float new_max = fmax(running_max, chunk_max);
            const float correction = exp(running_max - new_max); // 0 for the first shown chunk (exp(-inf))
            running_sum *= correction;
            for (int a = 0; a < VALUES_PER_ITEM; a++) {
                acc[a] *= correction;
            }
            for (int c = 0; c < chunk; c++) {
                if (scores[c] > -INFINITY) {
                    const float p = exp(scores[c] - new_max);
                    running_sum += p;
                    const __global float* v_row = values + (size_t)(j0 + c) * D;
                    for (int a = 0; a < VALUES_PER_ITEM; a++) {
                        const int d = lid + a * MASK_WG;
                        if (d < D) {
                            acc[a] = fma(p, v_row[d], acc[a]);
                        }
                    }
                }
            }
            running_max = new_max;
        }
        barrier(CLK_LOCAL_MEM_FENCE); // the chunk's scores are read before the next chunk overwrites them
    }
    __global float* out_row = out + (((size_t)b * H + head) * T + t) * D;
    for (int a = 0; a < VALUES_PER_ITEM; a++) {
        const int d = lid + a * MASK_WG;
        if (d < D) {
            out_row[d] = running_sum > 0.0f ? acc[a] / running_sum : 0.0f;
        }
    }
}
