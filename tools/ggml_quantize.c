// Converts float32 rows with ggml's own code (ggml_quantize_chunk, the function llama-quantize calls, and ggml's
// fp32 -> fp16 / bf16 row conversions), so that tools/gguf_reference_writer.py --check-with-ggml can confirm that its
// NumPy conversions give the same bytes as the C library on every value of reference.gguf, edge cases included.
//
// Build against a llama.cpp build (see src/test/resources/golden/gguf/README.md for how to get one):
//     cc -O2 -o /tmp/ggml_quantize tools/ggml_quantize.c -I$LLAMA/ggml/include -L$LLAMA/build/bin -lggml-base
//        -Wl,-rpath,$LLAMA/build/bin      (one line; LLAMA is the llama.cpp source folder with its build/ inside)
// Use: ggml_quantize TYPE N_PER_ROW < rows.f32 > blocks.bin
//     TYPE q8_0 or q4_0 (ggml_quantize_chunk), f16 (ggml_fp32_to_fp16_row) or bf16 (ggml_fp32_to_bf16_row_ref);
//     input little-endian float32, output the stored bytes.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml.h"

int main(int argc, char ** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s q8_0|q4_0|f16|bf16 N_PER_ROW < rows.f32 > blocks.bin\n", argv[0]);
        return 2;
    }
    enum ggml_type type;
    if (strcmp(argv[1], "q8_0") == 0) {
        type = GGML_TYPE_Q8_0;
    } else if (strcmp(argv[1], "q4_0") == 0) {
        type = GGML_TYPE_Q4_0;
    } else if (strcmp(argv[1], "f16") == 0) {
        type = GGML_TYPE_F16;
    } else if (strcmp(argv[1], "bf16") == 0) {
        type = GGML_TYPE_BF16;
    } else {
        fprintf(stderr, "unknown type %s\n", argv[1]);
        return 2;
    }
    long n_per_row = atol(argv[2]);
    size_t cap = 1 << 20, n = 0;
    float * src = malloc(cap * sizeof(float));
    size_t got;
    while ((got = fread(src + n, sizeof(float), cap - n, stdin)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            src = realloc(src, cap * sizeof(float));
        }
    }
    if (n_per_row <= 0 || n % (size_t) n_per_row != 0) {
        fprintf(stderr, "%zu values are not whole rows of %ld\n", n, n_per_row);
        return 2;
    }
    long rows = (long) (n / (size_t) n_per_row);
    size_t bytes = ggml_row_size(type, n_per_row) * (size_t) rows;
    void * dst = malloc(bytes);
    size_t written = bytes;
    if (type == GGML_TYPE_F16) {
        ggml_fp32_to_fp16_row(src, dst, (int64_t) n);
    } else if (type == GGML_TYPE_BF16) {
        ggml_fp32_to_bf16_row_ref(src, dst, (int64_t) n);
    } else {
        written = ggml_quantize_chunk(type, src, dst, 0, rows, n_per_row, NULL);
    }
    fwrite(dst, 1, written, stdout);
    free(src);
    free(dst);
    return written == bytes ? 0 : 1;
}
