package gpuinfer.cli;

import picocli.CommandLine.Option;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code --kernel-define NAME=VALUE}: a tuning value of the flash kernels replaced for this run. The one declaration
 * (a picocli mixin) for {@code attention}, {@code profile attention} and {@code bench attention}.
 */
final class FlashDefinesOption {
    @Option(names = "--kernel-define", paramLabel = "NAME=VALUE",
            description = "Replace a tuning value of the flash kernels (VEC, WG, QB, NB, CB, KT, SPLIT_WG, KB, "
                    + "DECODE_MAX_SQ, KEYS_PER_SPLIT, QR, DT, DKT, DEC_DT, DEC_KL); the option string is printed with "
                    + "the timings. Repeatable.")
    Map<String, String> defines = new LinkedHashMap<>();
}
