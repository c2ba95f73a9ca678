package gpuinfer.attention;

import gpuinfer.InputException;
import gpuinfer.cl.ClContext;
import gpuinfer.variants.KernelSettings;

import java.util.List;

/** The attention implementations by their {@code --impl} names. */
public final class AttentionImpls {
    /** Every name --impl accepts, the CPU reference first. */
    public static final List<String> NAMES = List.of("cpu", "naive", "flash");
    /** The implementations that run on OpenCL. */
    public static final List<String> OPENCL = List.of("naive", "flash");
    /** What --impl auto means where OpenCL runs. */
    public static final String DEFAULT_OPENCL = "flash";

    private AttentionImpls() {
    }

    public static boolean needsOpenCl(String name) {
        return OPENCL.contains(name);
    }

    /** An OpenCL implementation on {@code context}; close it when done. */
    public static ClAttention create(String name, ClContext context) {
        return create(name, context, KernelSettings.defaults(), java.util.Map.of());
    }

    /**
     * An OpenCL implementation with some kernel tuning values replaced ({@code --kernel-define NAME=VALUE}); only
     * flash has tuning values today.
     */
    public static ClAttention create(String name, ClContext context, KernelSettings settings,
                                     java.util.Map<String, String> defines) {
        if (!defines.isEmpty() && !name.equals("flash")) {
            throw new InputException("--kernel-define applies to --impl flash only, not " + name + ".");
        }
        return switch (name) {
            case "flash" -> new FlashAttention(context, settings, defines);
            case "naive" -> new NaiveAttention(context);
            default -> throw new InputException("Unknown OpenCL attention implementation '" + name + "': use one of "
                    + String.join(", ", OPENCL) + ".");
        };
    }

    /** Checks an --impl value (auto is allowed). */
    public static String checkName(String name) {
        if (!name.equals("auto") && !NAMES.contains(name)) {
            throw new InputException("Unknown --impl '" + name + "': use auto, " + String.join(", ", NAMES) + ".");
        }
        return name;
    }
}
