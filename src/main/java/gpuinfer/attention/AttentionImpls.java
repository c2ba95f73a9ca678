package gpuinfer.attention;

import gpuinfer.InputException;
import gpuinfer.cl.ClContext;

import java.util.List;

/** The attention implementations by their {@code --impl} names. */
public final class AttentionImpls {
    /** Every name --impl accepts, the CPU reference first. */
    public static final List<String> NAMES = List.of("cpu", "naive");
    /** The implementations that run on OpenCL. */
    public static final List<String> OPENCL = List.of("naive");
    /** What --impl auto means where OpenCL runs. */
    public static final String DEFAULT_OPENCL = "naive";

    private AttentionImpls() {
    }

    public static boolean needsOpenCl(String name) {
        return OPENCL.contains(name);
    }

    /** An OpenCL implementation on {@code context}; close it when done. */
    public static ClAttention create(String name, ClContext context) {
        return switch (name) {
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
