package gpuinfer.attention;

import gpuinfer.cl.ClContext;

import java.util.Map;

/** Deliberately faulty kernels, for tests that prove comparisons and the tuner catch them. */
public final class PlantedBugs {
    private PlantedBugs() {
    }

    /** Flash attention whose causal mask lets each row see one key too many. */
    public static ClAttention flashWithOffByOneCausalMask(ClContext context) {
        return new FlashAttention(context, gpuinfer.variants.KernelSettings.defaults(), Map.of(), "-DPLANTED_CAUSAL_OFF_BY_ONE");
    }
}
