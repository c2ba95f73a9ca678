package gpuinfer.oclgrind;

import gpuinfer.cli.Main;
import gpuinfer.variants.KernelSettings;

import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.lang.reflect.InvocationTargetException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One child JVM's work under Oclgrind: what it runs ({@link Body}, executed inside the child by
 * {@link OclgrindChild}), with which family of kernel variants (system property {@code gpuinfer.kernels} and
 * environment {@code GPU_INFER_KERNELS}, which {@code --kernels} defaults to) and which extra JVM options.
 *
 * @param name       what the test reports, and how the child finds this check
 * @param covers     the kernels and paths it exercises, for the report
 * @param family     the kernel family the child prefers (Oclgrind reports a GPU: auto means GPU-shaped)
 * @param jvmOptions extra options of the child JVM, e.g. "-Dgpuinfer.linear.prefill=packed"
 * @param body       what the child runs; its result is the child's exit status
 */
record Check(String name, String covers, KernelSettings.Family family, List<String> jvmOptions, Body body) {
    Check {
        jvmOptions = List.copyOf(jvmOptions);
    }

    /** Runs in the child JVM; returns the exit status (0: every result matched its CPU reference). */
    @FunctionalInterface
    interface Body {
        int run() throws Exception;
    }

    /** A main class with no arguments (the shape sweeps; they exit with their own status). */
    static Body main(Class<?> mainClass) {
        return () -> {
            try {
                mainClass.getMethod("main", String[].class).invoke(null, (Object) new String[0]);
            } catch (InvocationTargetException e) {
                throw e.getCause() instanceof Exception cause ? cause : e;
            }
            return 0;
        };
    }

    /**
     * gpu-infer command lines, one after another in the one JVM (as {@code bin/gpu-infer} would run each); the status
     * is the first non-zero exit status, every command running regardless.
     */
    static Body gpuInfer(List<List<String>> commandLines) {
        List<List<String>> lines = commandLines.stream().map(List::copyOf).toList();
        return () -> {
            PrintWriter out = new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), true);
            PrintWriter err = new PrintWriter(new OutputStreamWriter(System.err, StandardCharsets.UTF_8), true);
            List<String> failed = new ArrayList<>();
            int status = 0;
            for (List<String> line : lines) {
                out.println(OclgrindChild.PREFIX + "$ gpu-infer " + String.join(" ", line));
                int exit = Main.execute(out, err, line.toArray(String[]::new));
                if (exit != 0) {
                    failed.add("exit " + exit + ": gpu-infer " + String.join(" ", line));
                    status = status == 0 ? exit : status;
                }
            }
            failed.forEach(f -> out.println(OclgrindChild.PREFIX + "FAILED " + f));
            return status;
        };
    }
}
