package gpuinfer.compare;

import gpuinfer.InputException;
import gpuinfer.cl.ClRuntime;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One side of a comparison: the Java CPU reference ({@code cpu}), or an OpenCL execution written as
 * {@code device=SPEC,impl=NAME,binding=NAME} (any subset; e.g. {@code device=gpu,impl=flash}).
 *
 * @param impl    "cpu", or an OpenCL implementation ("flash", "naive" for attention; "opencl" for a model)
 * @param device  a --device value (auto, P:D, gpu, cpu, accelerator or part of a name)
 * @param binding lwjgl or jocl
 */
public record Execution(String impl, String device, String binding) {
    public static Execution cpu() {
        return new Execution("cpu", "", "");
    }

    public boolean isCpu() {
        return impl.equals("cpu");
    }

    /**
     * Parses "cpu" or "key=value,..." with keys device, impl and binding.
     *
     * @param defaultImpl the OpenCL implementation when the spec names none
     */
    public static Execution parse(String spec, String defaultImpl) {
        String text = spec.trim();
        if (text.equalsIgnoreCase("cpu")) {
            return cpu();
        }
        Map<String, String> values = new LinkedHashMap<>();
        for (String part : text.split(",")) {
            String[] kv = part.split("=", 2);
            if (kv.length != 2 || kv[1].isBlank()) {
                throw new InputException("'" + spec + "' is not an execution: use cpu, or device=SPEC,impl=NAME,binding=NAME "
                        + "(any of them, e.g. device=gpu,impl=flash).");
            }
            String key = kv[0].trim().toLowerCase(Locale.ROOT);
            if (!key.equals("device") && !key.equals("impl") && !key.equals("binding")) {
                throw new InputException("'" + spec + "': unknown key '" + kv[0] + "' (use device, impl, binding).");
            }
            values.put(key, kv[1].trim());
        }
        String binding = values.getOrDefault("binding", ClRuntime.DEFAULT_BINDING);
        if (!ClRuntime.BINDINGS.contains(binding)) {
            throw new InputException("'" + spec + "': unknown binding '" + binding + "' (use lwjgl or jocl).");
        }
        String impl = values.getOrDefault("impl", defaultImpl);
        if (impl.equals("cpu")) {
            return cpu();
        }
        return new Execution(impl, values.getOrDefault("device", "auto"), binding);
    }

    /** "cpu reference" or "flash on gpu (lwjgl)". */
    public String describe() {
        return isCpu() ? "cpu reference" : impl + " on " + device + " (" + binding + ")";
    }

    @Override
    public String toString() {
        return describe();
    }
}
