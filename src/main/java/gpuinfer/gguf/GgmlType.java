package gpuinfer.gguf;

import gpuinfer.weights.WeightType;

/**
 * Every tensor type a GGUF file may declare (ggml's {@code ggml_type} ids), with its block size and bytes per
 * block, so that a file is checked against its size whatever it holds, and a tensor gpu-infer cannot run is refused
 * by name. Only the types of {@link WeightType} are read; the others are listed to be named and measured.
 *
 * @param id         the ggml_type id stored in the file
 * @param name       ggml's name (q4_K, iq2_xs, ...)
 * @param blockSize  values per block
 * @param blockBytes bytes per block
 */
public record GgmlType(int id, String name, int blockSize, int blockBytes) {
    private static final GgmlType[] KNOWN = {
            new GgmlType(0, "f32", 1, 4), new GgmlType(1, "f16", 1, 2), new GgmlType(2, "q4_0", 32, 18),
            new GgmlType(3, "q4_1", 32, 20), new GgmlType(6, "q5_0", 32, 22), new GgmlType(7, "q5_1", 32, 24),
            new GgmlType(8, "q8_0", 32, 34), new GgmlType(9, "q8_1", 32, 36), new GgmlType(10, "q2_K", 256, 84),
            new GgmlType(11, "q3_K", 256, 110), new GgmlType(12, "q4_K", 256, 144), new GgmlType(13, "q5_K", 256, 176),
            new GgmlType(14, "q6_K", 256, 210), new GgmlType(15, "q8_K", 256, 292), new GgmlType(16, "iq2_xxs", 256, 66),
            new GgmlType(17, "iq2_xs", 256, 74), new GgmlType(18, "iq3_xxs", 256, 98), new GgmlType(19, "iq1_s", 256, 50),
            new GgmlType(20, "iq4_nl", 32, 18), new GgmlType(21, "iq3_s", 256, 110), new GgmlType(22, "iq2_s", 256, 82),
            new GgmlType(23, "iq4_xs", 256, 136), new GgmlType(24, "i8", 1, 1), new GgmlType(25, "i16", 1, 2),
            new GgmlType(26, "i32", 1, 4), new GgmlType(27, "i64", 1, 8), new GgmlType(28, "f64", 1, 8),
            new GgmlType(29, "iq1_m", 256, 56), new GgmlType(30, "bf16", 1, 2), new GgmlType(34, "tq1_0", 256, 54),
            new GgmlType(35, "tq2_0", 256, 66), new GgmlType(39, "mxfp4", 32, 17), new GgmlType(40, "nvfp4", 64, 36),
            new GgmlType(41, "q1_0", 128, 18), new GgmlType(42, "q2_0", 64, 18)};

    /** The type with this id, or null for an id ggml does not define (or has removed). */
    public static GgmlType of(int id) {
        for (GgmlType t : KNOWN) {
            if (t.id == id) {
                return t;
            }
        }
        return null;
    }

    /** The type of a gpu-infer format. */
    public static GgmlType of(WeightType type) {
        return of(type.ggmlId);
    }

    /** The gpu-infer format of this type, or null when gpu-infer cannot read it. */
    public WeightType weightType() {
        return WeightType.ofGgml(id);
    }

    /** ggml's upper-case spelling, as llama.cpp prints it (Q4_K, IQ2_XS, F16). */
    public String upperName() {
        return name.toUpperCase(java.util.Locale.ROOT);
    }
}
