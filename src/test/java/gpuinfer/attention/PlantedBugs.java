package gpuinfer.attention;

import gpuinfer.cl.ClContext;
import gpuinfer.variants.KernelSettings;
import gpuinfer.variants.Variants;

import java.util.Map;

/** Deliberately faulty kernels, for tests that prove comparisons, the tuner and the self-test catch them. */
public final class PlantedBugs {
    private PlantedBugs() {
    }

    /** Every flash variant, prefill and decode. */
    static final java.util.List<String> FLASH_VARIANTS = java.util.stream.Stream.of(Variants.FLASH_PREFILL, Variants.FLASH_DECODE)
            .flatMap(point -> point.cpuOrder().stream()).toList();

    /** Flash attention whose causal mask lets each row see one key too many, in whichever variant runs. */
    public static ClAttention flashWithOffByOneCausalMask(ClContext context) {
        KernelSettings settings = KernelSettings.defaults();
        for (String variant : FLASH_VARIANTS) {
            settings = settings.withBuildOptions(variant, "-DPLANTED_CAUSAL_OFF_BY_ONE");
        }
        return new FlashAttention(context, settings, Map.of());
    }

    /**
     * Settings under which flash prefill runs flash_dsplit with its last slice of D left out of every score
     * (-DPLANTED_DSPLIT_WRONG): a variant that builds, fits and runs, and is wrong.
     */
    public static KernelSettings dsplitWrong(KernelSettings settings) {
        return Variants.FLASH_PREFILL.forcing(settings, "flash_dsplit").withBuildOptions("flash_dsplit", "-DPLANTED_DSPLIT_WRONG");
    }
}
