package gpuinfer.oclgrind;

import gpuinfer.attention.AttentionShapeSweep;
import gpuinfer.ops.LinearShapeSweep;
import gpuinfer.ops.TransformerOpsSweep;
import gpuinfer.variants.KernelSettings.Family;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.IntFunction;

import static gpuinfer.oclgrind.Check.gpuInfer;
import static gpuinfer.oclgrind.Check.main;

/**
 * The one list of what runs under Oclgrind ({@link OclgrindCheckTest}; {@code tools/oclgrind_check.sh} runs that
 * test). Every check compares the device's results with the CPU reference, so a child fails on a wrong result as
 * well as on any Oclgrind diagnostic.
 *
 * <p>Oclgrind reports a GPU, so the default ("auto") family is the GPU-shaped one there; the CPU-shaped variants run
 * under {@code gpuinfer.kernels=cpu}. Oclgrind interprets every work-item (thousands of times slower than PoCL): the
 * shapes are small, chosen around the kernels' tiles, and the models are the tiny golden ones. The checks run two
 * at a time, longest first, so that the long ones do not start last.
 */
final class OclgrindChecks {
    private OclgrindChecks() {
    }

    private static final String GPT2 = "src/test/resources/golden/gguf/tiny/";
    private static final String LLAMA = "src/test/resources/golden/llama/";

    /** Oclgrind's local memory per work-group (CL_DEVICE_LOCAL_MEM_SIZE). */
    private static final int OCLGRIND_LOCAL_BYTES = 32 * 1024;

    /**
     * The CPU-shaped flash configuration whatever the family picks: PoCL's defaults on an AVX2 CPU
     * (FlashConfig.defaults: VEC=8 WG=16 QB=4 NB=2 CB=2 KT=64 SPLIT_WG=16), except that the key tile halves until its K
     * and V tiles fit Oclgrind's local memory (D = 80: KT = 32).
     */
    private static List<String> cpuFlashDefines(int headDim) {
        int kt = 64;
        while (2L * kt * headDim * Float.BYTES > OCLGRIND_LOCAL_BYTES) {
            kt /= 2;
        }
        List<String> defines = new ArrayList<>();
        for (String define : List.of("VEC=8", "WG=16", "QB=4", "NB=2", "CB=2", "KT=" + kt, "SPLIT_WG=16")) {
            defines.addAll(List.of("--kernel-define", define));
        }
        return defines;
    }

    static final List<Check> ALL = List.of(
            new Check("linear sweep",
                    "every linear variant forced in turn (linear_rows, linear_packed after pack_rows or from panels "
                            + "packed once, linear_matvec, "
                            + "linear_tiled and linear_nt after dequantize_rows, linear_nt from 4 rows, and linear_matvec's "
                            + "subgroup reduction with emulated subgroups) in every weight format (F32, F16, BF16, Q8_0, "
                            + "Q4_0), every activation, bias and residual, over rows, outputs and K one short of and one "
                            + "past the variants' tiles as configured on Oclgrind (LinearShapeSweep)",
                    Family.AUTO, List.of(), main(LinearShapeSweep.class)),
            new Check("attention sweep",
                    "every flash variant forced in turn (flash_tiled, flash_dsplit, flash_decode_split, "
                            + "flash_decode_dsplit) and the naive path, over shapes built from each variant's tiles as "
                            + "configured on Oclgrind (one past a query group, one short of and one past a key tile, "
                            + "Sq = Sk = 1, grouped heads, key padding with a length of 0, rows that see no key, large "
                            + "logits, decode one step per split), each flash case also accumulating into a running "
                            + "(out, lse) as ring attention does, D = 16, 80, 128 (AttentionShapeSweep)",
                    Family.AUTO, List.of(), main(AttentionShapeSweep.class)),
            new Check("ring attention",
                    "attention --ring: 3 ranks on one context (device copies, the queues ordered by events), causal zigzag with key padding (a batch "
                            + "entry of length 1) and grouped heads; 2 ranks on separate contexts (host-staged), "
                            + "contiguous, not causal; 2 ranks with one key/value slot each (--ring-memory low); "
                            + "flash continuing from each rank's running output and log-sum-exp",
                    Family.AUTO, List.of(), gpuInfer(List.of(
                            List.of("attention", "--shape", "2,2,1,33,33,16", "--causal", "--ring", "3", "--kv-lens", "33,1",
                                    "--check"),
                            List.of("attention", "--shape", "1,2,2,20,41,16", "--ring", "2", "--ring-ranks", "contexts",
                                    "--check"),
                            List.of("attention", "--shape", "1,2,1,30,30,16", "--causal", "--ring", "2", "--ring-memory",
                                    "low", "--check")))),
            new Check("attention, CPU-shaped",
                    "flash attention with -Dgpuinfer.kernels=cpu and the CPU's tuning values (cpuFlashDefines: "
                            + "register blocks of 4 rows, 8-wide vectors, partial row blocks), which the sweep does not "
                            + "reach because Oclgrind gets a GPU's defaults: see attention()",
                    Family.CPU, List.of(), gpuInfer(attention(OclgrindChecks::cpuFlashDefines))),
            new Check("Llama tiny model",
                    "the Llama family end to end: embed from a Q8_0 table, rmsnorm, fused q/k/v, rotary heads with "
                            + "grouped kv heads (llama3 rope, interleaved pairs), swiglu, untied head; a prompt of 18 "
                            + "tokens (prefill's path for 16 rows or more) and decode steps against the KV cache; "
                            + "compare: every tensor of the teacher-forced forward of the F32 folder against the CPU "
                            + "reference; run --context-parallel 2: the prefill's attention as a ring over two contexts "
                            + "(cache rows copied out per head, flash accumulating into each rank's running result) and rank 0's gathered cache decoded",
                    Family.AUTO, List.of(), gpuInfer(List.of(
                            List.of("run", "--model", LLAMA + "llama-tiny-q8_0.gguf",
                                    "--prompt", "one two three four five six", "--max-tokens", "3", "--temperature", "0"),
                            List.of("compare", "--model", LLAMA + "llama-tiny", "--prompt", "Hello",
                                    "--max-tokens", "2"),
                            List.of("run", "--model", LLAMA + "llama-tiny-q8_0.gguf", "--context-parallel", "2",
                                    "--prompt", "one two three four five six seven", "--max-tokens", "2",
                                    "--temperature", "0")))),
            new Check("GPT-2 tiny model",
                    "GPT-2 end to end: embed with a position table from F16, Q4_0 and BF16 token tables, layernorm, "
                            + "fused q/k/v rows, gelu, merge_heads, tied head; a right-padded batch of two prompts (key "
                            + "padding in prefill and decode); compare: every tensor of the Q4_0 file's teacher-forced "
                            + "forward against the CPU reference",
                    Family.AUTO, List.of(), gpuInfer(List.of(
                            List.of("run", "--model", GPT2 + "tiny-f16.gguf", "--prompt", "The meaning of life",
                                    "--prompt", "Hi", "--max-tokens", "3", "--temperature", "0"),
                            List.of("compare", "--model", GPT2 + "tiny-q4_0.gguf", "--prompt", "The meaning of life",
                                    "--max-tokens", "2"),
                            List.of("run", "--model", GPT2 + "tiny-f32.gguf", "--weights", "bf16",
                                    "--prompt", "The meaning", "--max-tokens", "2", "--temperature", "0")))),
            new Check("GPT-2 tiny model, CPU-shaped",
                    "GPT-2 F32 and F16 with -Dgpuinfer.kernels=cpu, as CPUs run them: every weight matrix packed "
                            + "once into panels on its first product (pack_rows; pack_rows_stored keeping F16 values) "
                            + "and multiplied from them by linear_packed in prefill and decode, a batch of two prompts",
                    Family.CPU, List.of(), gpuInfer(List.of(
                            List.of("run", "--model", GPT2 + "tiny-f32.gguf", "--prompt", "The meaning of life",
                                    "--prompt", "Hi", "--max-tokens", "3", "--temperature", "0"),
                            List.of("run", "--model", GPT2 + "tiny-f16.gguf", "--prompt", "The meaning of life",
                                    "--max-tokens", "3", "--temperature", "0")))),
            new Check("transformer ops sweep",
                    "rmsnorm, swiglu, heads (grouped kv heads, rope in both pair orders, partial rope, GPT-2's fused "
                            + "rows) and embed without a position table, over shapes one short of and one past each "
                            + "work-group size; the intervention kernels scale_head and masked_head_attention",
                    Family.AUTO, List.of(), main(TransformerOpsSweep.class)),
            new Check("device self-test",
                    "gpu-infer selftest: every variant of every decision point forced in turn, and every single-kernel "
                            + "op, on the self-test's own awkward shapes against the CPU reference",
                    Family.AUTO, List.of(), gpuInfer(List.of(List.of("selftest"))))
    );

    /**
     * The attention command lines of the CPU-shaped check: flash prefill with grouped heads, Sq not a multiple of a
     * group's rows and Sk past a key tile; causal prefill bottom-right aligned with Sq &lt; Sk (tiles above the
     * diagonal skipped) and one kv head; key padding in prefill with a batch entry that sees no key at all; D = 32 and
     * 80 besides 64; decode (Sq = 1, split-K and merge) with key padding; a few query rows (Sq = 4 &le;
     * DECODE_MAX_SQ) causal through the decode kernels.
     */
    static List<List<String>> attention(IntFunction<List<String>> definesForHeadDim) {
        List<List<String>> shapes = List.of(
                List.of("--shape", "1,4,2,33,70,64"),
                List.of("--shape", "1,2,1,37,45,64", "--causal"),
                List.of("--shape", "2,2,2,20,40,32", "--causal", "--kv-lens", "40,0"),
                List.of("--shape", "1,2,1,12,50,80", "--causal"),
                List.of("--shape", "2,4,2,1,70,64", "--kv-lens", "70,33"),
                List.of("--shape", "1,4,2,4,130,64", "--causal"));
        List<List<String>> lines = new ArrayList<>();
        for (List<String> shape : shapes) {
            List<String> line = new ArrayList<>(List.of("attention", "--impl", "flash", "--check"));
            line.addAll(shape);
            String[] dims = shape.get(1).split(",");
            line.addAll(definesForHeadDim.apply(Integer.parseInt(dims[dims.length - 1])));
            lines.add(line);
        }
        return lines;
    }

    /**
     * Three faults planted on purpose ({@link PlantedFaults}): not a check of the code, the proof that the checks
     * above cannot pass because Oclgrind stayed silent.
     */
    static final Check PLANTED_FAULTS = new Check("planted faults",
            "a write one past a buffer, a write-write data race and an API error (OclgrindCheckTest expects all three "
                    + "reported)",
            Family.AUTO, List.of(), PlantedFaults::run);

    static Optional<Check> named(String name) {
        List<Check> all = new ArrayList<>(ALL);
        all.add(PLANTED_FAULTS);
        return all.stream().filter(c -> c.name().equals(name)).findFirst();
    }
}
