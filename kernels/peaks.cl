// peaks.cl: what a device can do at best, for profiles and rooflines (`gpu-infer profile`).
//
//   peak_fma    each work-item runs `iterations` rounds of 8 independent VEC-wide FMA chains on registers: no
//               memory traffic, so the rate is the device's floating-point ceiling
//   peak_copy   y = x, VEC floats per work-item: read plus write bandwidth, the memory ceiling
//
// Tuning values (-D): VEC, the vector width; WG, work-items per group.
// CPU reference: DevicePeaks.fmaReference (the copy must be exact); checked by PeakKernelsTest.

#ifndef VEC
#define VEC 8
#endif
#ifndef WG
#define WG 64
#endif

#include "vectors.h"

__kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void peak_fma(__global float* out,     // [global size * VEC]: keeps the chains alive
              const float a, const float b, const int iterations)
{
    const size_t gid = get_global_id(0);
    vec_t x0 = (vec_t)(gid * 1e-9f), x1 = x0 + 1, x2 = x0 + 2, x3 = x0 + 3;
    vec_t x4 = x0 + 4, x5 = x0 + 5, x6 = x0 + 6, x7 = x0 + 7;
    for (int i = 0; i < iterations; i++) {
        x0 = fma(x0, (vec_t)(a), (vec_t)(b));
        x1 = fma(x1, (vec_t)(a), (vec_t)(b));
        x2 = fma(x2, (vec_t)(a), (vec_t)(b));
        x3 = fma(x3, (vec_t)(a), (vec_t)(b));
        x4 = fma(x4, (vec_t)(a), (vec_t)(b));
        x5 = fma(x5, (vec_t)(a), (vec_t)(b));
        x6 = fma(x6, (vec_t)(a), (vec_t)(b));
        x7 = fma(x7, (vec_t)(a), (vec_t)(b));
    }
    VSTORE(((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7)), gid, out);
}

__kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void peak_copy(__global const float* x, __global float* y)
{
    const size_t gid = get_global_id(0);
    VSTORE(VLOAD(gid, x), gid, y);
}
