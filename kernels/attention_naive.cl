// attention_naive.cl: attention as three kernels, with the full score matrix in global memory.
//
//   attention_scores   scores[b,h,i,j] = scale * q[b,h,i,:] . k[b,h/G,j,:]        (G = H / Hkv)
//   attention_softmax  each row of scores -> probabilities, masks applied (causal, bottom-right aligned: query i
//                      sees keys j <= i + Sk - Sq; key padding: batch b sees keys j < kv_lens[b]); a row that sees
//                      no key becomes all zeros; writes each row's log-sum-exp
//   attention_pv       out[b,h,i,:] = sum_j p[b,h,i,j] * v[b,h/G,j,:]
//
// This is the simple baseline (--impl naive). It stores B*H*Sq*Sk floats, which is the memory bottleneck of
// attention: the host refuses shapes whose score matrix does not fit the device and points to --impl flash.
// Each kernel compiles on its own; the host passes the work-group sizes as -D options:
//   TILE        work-group edge of attention_scores and attention_pv (TILE x TILE work-items)
//   SOFTMAX_WG  work-items per softmax row (a power of two)
// Measured (2-core AVX-512 machine, PoCL 3.1, B=1 H=12 D=64 causal, `gpu-infer bench attention`): S=1024 1.04 s,
// S=4096 16.7 s (0.5-1 GFLOP/s); the score matrix round-trips through memory three times.

#ifndef TILE
#define TILE 16
#endif
#ifndef SOFTMAX_WG
#define SOFTMAX_WG 64
#endif

__kernel __attribute__((reqd_work_group_size(TILE, TILE, 1)))
void attention_scores(__global const float* q,      // [B, H, Sq, D]
                      __global const float* k,      // [B, Hkv, Sk, D]
                      __global float* scores,       // [B, H, Sq, Sk]
                      const int H, const int Hkv, const int Sq, const int Sk, const int D,
                      const int kv_stride,          // rows per kv head in k (>= Sk)
                      const float scale)
{
    const int j = get_global_id(0);                 // key
    const int i = get_global_id(1);                 // query
    const int bh = get_global_id(2);                // b * H + h
    if (i >= Sq || j >= Sk) {
        return;
    }
    const int b = bh / H;
    const int kv_head = (bh % H) / (H / Hkv);
    const __global float* q_row = q + ((size_t)bh * Sq + i) * D;
    const __global float* k_row = k + (((size_t)b * Hkv + kv_head) * kv_stride + j) * D;
    float dot = 0.0f;
    for (int c = 0; c < D; c++) {
        dot = fma(q_row[c], k_row[c], dot);
    }
    scores[((size_t)bh * Sq + i) * Sk + j] = dot * scale;
}

__kernel __attribute__((reqd_work_group_size(SOFTMAX_WG, 1, 1)))
void attention_softmax(__global float* scores,      // [B, H, Sq, Sk]: scaled scores in, probabilities out
                       __global float* lse,         // [B, H, Sq]: log-sum-exp of each row's visible scores
                       __global const int* kv_lens, // [B] valid keys per batch entry (read when use_kv_lens)
                       const int H, const int Sq, const int Sk, const int causal, const int use_kv_lens)
{
    __local float partial[SOFTMAX_WG];
    const size_t row = get_group_id(0);             // (b * H + h) * Sq + i
    const int i = (int)(row % Sq);
    const int b = (int)(row / ((size_t)H * Sq));
    const int lid = get_local_id(0);
    __global float* s = scores + row * Sk;
    // keys 0 .. visible-1 are visible to this row
    const int kv_len = use_kv_lens ? clamp(kv_lens[b], 0, Sk) : Sk;
    const int visible = causal ? clamp(i + (Sk - Sq) + 1, 0, kv_len) : kv_len;

    // pass 1: the row maximum
    float m = -INFINITY;
    for (int j = lid; j < visible; j += SOFTMAX_WG) {
        m = fmax(m, s[j]);
    }
    partial[lid] = m;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = SOFTMAX_WG / 2; stride > 0; stride /= 2) {
        if (lid < stride) {
            partial[lid] = fmax(partial[lid], partial[lid + stride]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    m = partial[0];
    barrier(CLK_LOCAL_MEM_FENCE);

    // pass 2: exponentials and their sum
    float sum = 0.0f;
    for (int j = lid; j < visible; j += SOFTMAX_WG) {
        const float e = exp(s[j] - m);
        s[j] = e;
        sum += e;
    }
    partial[lid] = sum;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = SOFTMAX_WG / 2; stride > 0; stride /= 2) {
        if (lid < stride) {
            partial[lid] += partial[lid + stride];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float inv_sum = visible > 0 ? 1.0f / partial[0] : 0.0f;
    if (lid == 0) {
        lse[row] = visible > 0 ? m + log(partial[0]) : -INFINITY;
    }

    // pass 3: normalise; masked keys get probability zero
    for (int j = lid; j < Sk; j += SOFTMAX_WG) {
        s[j] = j < visible ? s[j] * inv_sum : 0.0f;
    }
}

__kernel __attribute__((reqd_work_group_size(TILE, TILE, 1)))
void attention_pv(__global const float* p,          // [B, H, Sq, Sk] probabilities
                  __global const float* v,          // [B, Hkv, Sk, D]
                  __global float* out,              // [B, H, Sq, D]
                  const int H, const int Hkv, const int Sq, const int Sk, const int D,
                  const int kv_stride)              // rows per kv head in v (>= Sk)
{
    const int c = get_global_id(0);                 // output column (0..D-1)
    const int i = get_global_id(1);                 // query
    const int bh = get_global_id(2);
    if (i >= Sq || c >= D) {
        return;
    }
    const int b = bh / H;
    const int kv_head = (bh % H) / (H / Hkv);
    const __global float* p_row = p + ((size_t)bh * Sq + i) * Sk;
    const __global float* v_col = v + ((size_t)b * Hkv + kv_head) * kv_stride * D + c;
    float acc = 0.0f;
    for (int j = 0; j < Sk; j++) {
        acc = fma(p_row[j], v_col[(size_t)j * D], acc);
    }
    out[((size_t)bh * Sq + i) * D + c] = acc;
}
