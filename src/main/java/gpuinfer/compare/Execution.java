package gpuinfer.compare;

import gpuinfer.InputException;
import gpuinfer.cl.ClRuntime;
import gpuinfer.variants.KernelSettings;
import gpuinfer.weights.WeightType;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One side of a comparison: the Java CPU reference ({@code cpu}), or an OpenCL execution written as
 * {@code device=SPEC,impl=NAME,binding=NAME,weights=FORMAT} (any subset; e.g. {@code device=gpu,impl=flash} or
 * {@code weights=q8_0}).
 *
 * @param impl    "cpu", or an OpenCL implementation ("flash", "naive" for attention; "opencl" for a model)
 * @param device  a --device value (auto, P:D, gpu, cpu, accelerator or part of a name)
 * @param binding lwjgl or jocl
 * @param weights the format a model's weight matrices are converted to (f32, f16, bf16, q8_0, q4_0), or null to
 *                run them as stored
 */
public record Execution(String impl, String device, String binding, WeightType weights, KernelSettings.Family kernels) {
    public Execution(String impl, String device, String binding) {
        this(impl, device, binding, null);
    }

    public Execution(String impl, String device, String binding, WeightType weights) {
        this(impl, device, binding, weights, KernelSettings.defaults().family());
    }

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
        if (text.toLowerCase(Locale.ROOT).startsWith("cpu,")) {
            text = "impl=cpu," + text.substring(4);
        }
        Map<String, String> values = new LinkedHashMap<>();
        for (String part : text.split(",")) {
            String[] kv = part.split("=", 2);
            if (kv.length != 2 || kv[1].isBlank()) {
                throw new InputException("'" + spec + "' is not an execution: use cpu, or device=SPEC,impl=NAME,binding=NAME,"
                        + "weights=FORMAT (any of them, e.g. device=gpu,impl=flash or weights=q8_0).");
            }
            String key = kv[0].trim().toLowerCase(Locale.ROOT);
            if (!key.equals("device") && !key.equals("impl") && !key.equals("binding") && !key.equals("weights")
                    && !key.equals("kernels")) {
                throw new InputException("'" + spec + "': unknown key '" + kv[0] + "' (use device, impl, binding, weights, kernels).");
            }
            values.put(key, kv[1].trim());
        }
        String binding = values.getOrDefault("binding", ClRuntime.DEFAULT_BINDING);
        if (!ClRuntime.BINDINGS.contains(binding)) {
            throw new InputException("'" + spec + "': unknown binding '" + binding + "' (use lwjgl or jocl).");
        }
        String impl = values.getOrDefault("impl", defaultImpl);
        WeightType weights = values.containsKey("weights") ? WeightType.parseTarget("'" + spec + "': weights", values.get("weights")) : null;
        if (impl.equals("cpu")) {
            return new Execution("cpu", "", "", weights);
        }
        KernelSettings.Family kernels = values.containsKey("kernels") ? KernelSettings.Family.parse(values.get("kernels"))
                : KernelSettings.defaults().family();
        return new Execution(impl, values.getOrDefault("device", "auto"), binding, weights, kernels);
    }

    /** "cpu reference", "flash on gpu (lwjgl)", "opencl on auto (lwjgl), weights Q8_0". */
    public String describe() {
        return (isCpu() ? "cpu reference" : impl + " on " + device + " (" + binding + ")")
                + (weights == null ? "" : ", weights converted to " + weights)
                + (isCpu() || kernels == KernelSettings.Family.AUTO ? "" : ", " + kernels.label() + "-shaped kernels");
    }

    @Override
    public String toString() {
        return describe();
    }
}
