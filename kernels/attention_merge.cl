// attention_merge.cl: merges a partial attention result over one key range into the running result over others,
// by their log-sum-exp (ring attention: each rank adds one key/value block per step).
//
// out [rows, D] and lse [rows] hold the running result; part_out [rows, D] and part_lse [rows] the partial one.
// With m = logsumexp(lse, part_lse): out = exp(lse - m) * out + exp(part_lse - m) * part_out, lse = m.
// A part with lse -inf saw no key and contributes nothing; when both are -inf the row stays out 0, lse -inf.
//
// Variants:
//   lse_merge   one work-item per row, a loop over D. Memory-bound (reads 2 D + 2 floats, writes D + 1 per row);
//               not timed on its own: in a ring step it is small next to the flash call before it.

#ifndef WG
#define WG 64
#endif

__kernel void lse_merge(__global float* out,            // [rows, D] running output, updated in place
                        __global float* lse,            // [rows] running log-sum-exp, updated in place
                        __global const float* part_out, // [rows, D]
                        __global const float* part_lse, // [rows]
                        const int rows, const int d) {
    const int row = get_global_id(0);
    if (row >= rows) {
        return;
    }
    const float a = lse[row];
    const float b = part_lse[row];
    if (b == -INFINITY) {
        return; // the part saw no key: the running result is unchanged
    }
    __global float* o = out + (long) row * d;
    __global const float* p = part_out + (long) row * d;
    if (a == -INFINITY) {
        for (int i = 0; i < d; i++) {
            o[i] = p[i];
        }
        lse[row] = b;
        return;
    }
    const float m = fmax(a, b);
    const float wa = exp(a - m);
    const float wb = exp(b - m);
    const float sum = wa + wb;
    for (int i = 0; i < d; i++) {
        o[i] = (wa * o[i] + wb * p[i]) / sum;
    }
    lse[row] = m + log(sum);
}
