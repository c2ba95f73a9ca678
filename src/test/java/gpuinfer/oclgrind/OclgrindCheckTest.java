package gpuinfer.oclgrind;

import gpuinfer.oclgrind.OclgrindRunner.ChildRun;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every kernel variant under Oclgrind, which checks every memory access of every work-item, looks for data races and
 * checks every OpenCL call: the checks of {@link OclgrindChecks}, each in a child JVM, two at a time. A child fails
 * the test when it exits non-zero (a result differs from the CPU reference), when it did not run on Oclgrind, and
 * when Oclgrind printed any diagnostic (Oclgrind itself never changes the exit status).
 *
 * <p>Needs Oclgrind ({@code apt-get install oclgrind}; {@code OCLGRIND_ICD} names its ICD library when it is not at
 * Debian's path): without it the Oclgrind tests are skipped, and fail when {@code CI=true}. The output of every
 * child that failed is in the failure message; the summary with each check's time is in the test's output file
 * (target/surefire-reports/gpuinfer.oclgrind.OclgrindCheckTest-output.txt). {@code -Dgpuinfer.oclgrind.only=TEXT}
 * runs only the checks whose name contains TEXT ({@code tools/oclgrind_check.sh TEXT}).
 */
class OclgrindCheckTest {
    /** The system property that narrows the checks to those whose name contains it. */
    static final String ONLY = "gpuinfer.oclgrind.only";

    private static final AtomicBoolean warnedOnTerminal = new AtomicBoolean();

    @Test
    void matcherFindsEveryKindOfOclgrindDiagnostic() {
        // The headline of each kind, worded as Oclgrind 21.10 prints it
        List<String> examples = List.of(
                "Invalid write of size 4 at global memory address 0x1000000000010",
                "Invalid read of size 16 at local memory address 0x3000000000100",
                "Invalid read from write-only buffer",
                "Invalid write to read-only buffer",
                "Invalid read from buffer mapped for writing",
                "Invalid write to mapped buffer",
                "Invalid memory load - source pointer is not aligned to the pointed type",
                "Invalid memory store - source pointer is not aligned to the pointed type",
                "Index (9) exceeds static array size (8)",
                "Unaligned address on vload4",
                "Read-write data race at global memory address 0x1000000000000",
                "Write-write data race at local memory address 0x3000000000000",
                "Uninitialized value written to private memory address 0x20",
                "Uninitialized address used to read from global memory address 0x0",
                "Controlflow depends on uninitialized value",
                "Instruction depends on an uninitialized index value",
                "Work-group divergence detected (barrier)",
                "Work-group divergence detected (async copy)",
                "Work-item finished without waiting for events",
                "Invalid wait event",
                "Oclgrind - OpenCL runtime error detected",
                "OCLGRIND FATAL ERROR (./src/plugins/Uninitialized.cpp:1805)",
                "Oclgrind: 1000 errors generated - suppressing further errors",
                "Oclgrind: Invalid value for OCLGRIND_NUM_THREADS",
                "[Oclgrind] Warning: unable to patch clGetPlatformIDs");
        for (String headline : examples) {
            // the headline alone (without the indented lines that follow a kernel diagnostic) must be flagged
            List<String> output = List.of("ok    F32 R=1 N=63 K=64 NONE, max abs error 4.7683716E-7", "", headline,
                    "ok    F32 R=1 N=65 K=96 GELU, max abs error 9.536743E-7");
            assertEquals(List.of("3: " + headline), OclgrindDiagnostics.find(output), headline);
            // also where Java's output and Oclgrind's share a line
            assertEquals(1, OclgrindDiagnostics.find(List.of("ok    F32 R=1 N=63" + headline)).size(), headline);
        }
        // a kind the list does not name is still caught by its indented "Kernel:" line, with its headline
        List<String> unknown = OclgrindDiagnostics.find(List.of("", "Something new went wrong", "\tKernel: heads",
                "\tEntity: Global(0,0,0) Local(0,0,0) Group(0,0,0)"));
        assertEquals(List.of("2: Something new went wrong", "3: \tKernel: heads"), unknown);
        // an API error block: the headline alone is enough
        assertEquals(List.of("2: Oclgrind - OpenCL runtime error detected"), OclgrindDiagnostics.find(List.of("",
                "Oclgrind - OpenCL runtime error detected", "\tFunction: clSetKernelArg",
                "\tError:    CL_INVALID_ARG_INDEX")));
    }

    @Test
    void matcherPassesWhatTheChecksPrintWhenAllIsWell() {
        // lines the sweeps, gpu-infer run, compare and attention print on Oclgrind
        List<String> output = List.of(
                OclgrindChild.PREFIX + OclgrindChild.DEVICE + "Oclgrind Simulator (platform Oclgrind)",
                "device Oclgrind Simulator; prefill (16 rows or more) runs linear_nt",
                "ok    Q4_0 R=65 N=63 K=64 GELU, max abs error 9.536743E-7",
                "built linear.cl -DWTYPE=4 -DVEC=4 -DMB=1 -DNB=2 -DWG=64 -DWGR=1",
                "204 cases, 0 mismatches",
                "ok    heads q B=2 T=3 H=2 Hkv=1 D=21 start=[0, 3] sMax=7 separate no rope: max abs 0.00e+00: PASS",
                "tiny-f32.gguf (F32 ×10) on 0:0 Oclgrind Simulator: load 220 ms, prompt 8 tokens in 2915 ms",
                "device     0:0 Oclgrind Simulator (Oclgrind) through lwjgl",
                "kernels    flash_decode_split 222 ms, flash_decode_merge 17.4 ms",
                "check      against the CPU reference (9.99 ms): out: max abs 1.79e-07 (atol 2.0e-05, rtol 1.0e-04): PASS",
                "h.0.attn_heads         [5,64]              1.192e-06  6.855e-07  1.730e-07",
                "PASS: all 21 tensors within tolerance",
                "planted: setting argument 7 of a one-argument kernel failed: CL_INVALID_ARG_INDEX");
        assertEquals(List.of(), OclgrindDiagnostics.find(output));
    }

    @Test
    void aChildFailsOnItsStatusItsDeviceAndAnyDiagnostic() {
        Check check = OclgrindChecks.ALL.get(0);
        String oclgrind = OclgrindChild.PREFIX + OclgrindChild.DEVICE + "Oclgrind Simulator (platform Oclgrind)";
        List<String> clean = List.of(oclgrind, "204 cases, 0 mismatches");
        assertEquals(List.of(), new ChildRun(check, 0, false, clean, 1).problems());

        List<String> status = new ChildRun(check, 1, false, clean, 1).problems();
        assertTrue(status.size() == 1 && status.get(0).startsWith("exit status 1"), status.toString());
        List<String> hung = new ChildRun(check, -1, true, clean, 600).problems();
        assertTrue(hung.size() == 1 && hung.get(0).startsWith("did not finish"), hung.toString());

        List<String> onPocl = new ChildRun(check, 0, false, List.of(OclgrindChild.PREFIX + OclgrindChild.DEVICE
                + "pthread-haswell-AMD EPYC (platform Portable Computing Language)"), 1).problems();
        assertEquals(List.of("ran on pthread-haswell-AMD EPYC (platform Portable Computing Language), not on Oclgrind"),
                onPocl);
        List<String> noDevice = new ChildRun(check, 0, false, List.of("204 cases, 0 mismatches"), 1).problems();
        assertEquals(List.of("printed no device line: it never reached OpenCL"), noDevice);

        List<String> raced = new ChildRun(check, 0, false, List.of(oclgrind, "",
                "Read-write data race at local memory address 0x3000000000040", "\tKernel: linear_nt", ""), 1).problems();
        assertEquals(1, raced.size(), raced.toString());
        assertTrue(raced.get(0).contains("3: Read-write data race") && raced.get(0).contains("4: \tKernel: linear_nt"),
                raced.get(0));
    }

    /** The checks cannot pass because Oclgrind stayed silent: faults planted on purpose are all reported. */
    @Test
    void plantedFaultsAreReported(@TempDir Path work) throws Exception {
        ChildRun run = new OclgrindRunner(oclgrind(), work).run(OclgrindChecks.PLANTED_FAULTS, 0);
        String context = "\n" + String.join("\n", run.output());
        assertEquals(0, run.exitStatus(), "the planted faults did not all run" + context);
        assertTrue(run.device().orElse("").contains("Oclgrind"), "not on Oclgrind" + context);
        List<String> diagnostics = run.diagnostics();
        for (String expected : List.of("Invalid write of size 4 at global memory address", "Write-write data race",
                "Oclgrind - OpenCL runtime error detected")) {
            assertTrue(diagnostics.stream().anyMatch(d -> d.contains(expected)),
                    "Oclgrind did not report '" + expected + "', or the matcher missed it" + context);
        }
        assertTrue(diagnostics.stream().anyMatch(d -> d.contains("Kernel: write_past_end")), diagnostics.toString());
        assertFalse(run.problems().isEmpty(), "a child with these diagnostics would pass");
    }

    @Test
    void everyKernelVariantRunsCleanUnderOclgrind(@TempDir Path work) {
        Path icd = oclgrind();
        List<Check> checks = selected();
        long start = System.nanoTime();
        List<ChildRun> runs = new OclgrindRunner(icd, work).runAll(checks);
        double seconds = (System.nanoTime() - start) / 1e9;

        List<String> failures = new ArrayList<>();
        System.out.println("Oclgrind checks (" + OclgrindRunner.PARALLEL + " at a time), " + icd + ":");
        for (ChildRun run : runs) {
            List<String> problems = run.problems();
            System.out.printf(Locale.ROOT, "%-5s %-30s %6.1f s  %s%n", problems.isEmpty() ? "ok" : "FAIL",
                    run.check().name(), run.seconds(), run.check().covers());
            if (!problems.isEmpty()) {
                String output = run.diagnostics().isEmpty() ? "\n  last lines of its output:\n" + run.tail(40) : "";
                failures.add(run.check().name() + " (kernels " + run.check().family().label() + "):\n  "
                        + String.join("\n  ", problems) + output);
            }
        }
        System.out.printf(Locale.ROOT, "%d checks in %.1f s%n", runs.size(), seconds);
        if (!failures.isEmpty()) {
            fail(failures.size() + " of " + runs.size() + " Oclgrind checks failed:\n\n" + String.join("\n\n", failures));
        }
    }

    /** The checks to run: all, or those whose name contains {@code -Dgpuinfer.oclgrind.only}. */
    private static List<Check> selected() {
        String only = System.getProperty(ONLY, "");
        List<Check> checks = OclgrindChecks.ALL.stream().filter(c -> c.name().contains(only)).toList();
        if (checks.isEmpty()) {
            fail("no Oclgrind check's name contains '" + only + "' (-D" + ONLY + "); the checks: "
                    + OclgrindChecks.ALL.stream().map(Check::name).toList());
        }
        return checks;
    }

    /**
     * Oclgrind's ICD library. Without it: skipped on a developer machine, with a message that says the kernels went
     * unchecked; a failure where CI=true (CI installs Oclgrind, so its absence is a broken CI).
     */
    private static Path oclgrind() {
        Path icd = OclgrindRunner.icdLibrary();
        if (Files.isRegularFile(icd)) {
            return icd;
        }
        String message = "Oclgrind is not installed (no " + icd + (System.getenv(OclgrindRunner.ICD_ENV) == null ? ""
                : ", which " + OclgrindRunner.ICD_ENV + " names") + "), so the kernels were NOT checked for "
                + "out-of-bounds accesses and data races under Oclgrind. Install it: sudo apt-get install oclgrind";
        if (OpenClTestSupport.inCi()) {
            fail("CI=true requires Oclgrind: " + message);
        }
        System.err.println("WARNING: SKIPPED: " + message);
        // Surefire shows no reason for a skipped test on the console, and this JVM's stdout and stderr go to the
        // report files: say it on the developer's terminal as well, where there is one (once for the class).
        if (!warnedOnTerminal.getAndSet(true)) {
            try {
                Files.writeString(Path.of("/dev/tty"), "\nWARNING: OclgrindCheckTest SKIPPED: " + message + "\n\n");
            } catch (IOException | RuntimeException noTerminal) {
                // no terminal (CI, an IDE): the reason is in the test's output file
            }
        }
        Assumptions.abort(message);
        throw new AssertionError(message);
    }
}
