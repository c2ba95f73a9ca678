// weights.h: weights read in their stored format and widened to float in registers. The formats are those of
// gpuinfer.weights.WeightType (ggml's layouts, little-endian); a kernel selects one with a -D value:
//   WT_F32   0   float
//   WT_F16   1   IEEE half, read with vload_half (core OpenCL: no cl_khr_fp16 needed)
//   WT_BF16  2   bfloat16: the top 16 bits of a float
//   WT_Q8_0  3   blocks of 32: half d, 32 x int8 q; value = d * q                         (34 bytes)
//   WT_Q4_0  4   blocks of 32: half d, 16 bytes; byte j holds q_j (low nibble) and q_{j+16} (high nibble);
//                value = d * (q - 8)                                                      (18 bytes)
// A row of K values is WT_ROW_BYTES(T, K) bytes; rows of the block formats are whole blocks (K % 32 == 0, checked
// on the host). Every value here is exactly what the CPU reference dequantises: d * q needs at most 19 bits.
//   WT_ROW_BYTES(T, K)   bytes of a row
//   WT_AT(T, row, c)     value c of the row starting at byte pointer row, as float
// gpu-infer inlines #include "weights.h" when it loads a kernel; to compile a kernel by hand, pass -I kernels.
#ifndef GPU_INFER_WEIGHTS_H
#define GPU_INFER_WEIGHTS_H

#define WT_F32 0
#define WT_F16 1
#define WT_BF16 2
#define WT_Q8_0 3
#define WT_Q4_0 4

#define WT_ROW_BYTES(T, K)                                                                                       \
    ((T) == WT_F32 ? (size_t)(K) * 4                                                                             \
     : (T) <= WT_BF16 ? (size_t)(K) * 2                                                                          \
     : (T) == WT_Q8_0 ? (size_t)(K) / 32 * 34 : (size_t)(K) / 32 * 18)

inline float wt_bf16(const ushort bits)
{
    return as_float((uint)bits << 16);
}

inline float wt_at_q8_0(const __global uchar* row, const int c)
{
    const __global uchar* block = row + (size_t)(c / 32) * 34;
    return vload_half(0, (const __global half*)block) * (float)((const __global char*)(block + 2))[c % 32];
}

inline float wt_at_q4_0(const __global uchar* row, const int c)
{
    const __global uchar* block = row + (size_t)(c / 32) * 18;
    const int j = c % 32;
    const uchar packed = block[2 + (j & 15)];
    const int q = j < 16 ? (packed & 15) : (packed >> 4);
    return vload_half(0, (const __global half*)block) * (float)(q - 8);
}

#define WT_AT(T, row, c)                                                                                         \
    ((T) == WT_F32 ? ((const __global float*)(row))[c]                                                           \
     : (T) == WT_F16 ? vload_half((c), (const __global half*)(row))                                              \
     : (T) == WT_BF16 ? wt_bf16(((const __global ushort*)(row))[c])                                              \
     : (T) == WT_Q8_0 ? wt_at_q8_0((row), (c)) : wt_at_q4_0((row), (c)))

#endif
