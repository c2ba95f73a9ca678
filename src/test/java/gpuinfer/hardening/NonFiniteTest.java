package gpuinfer.hardening;

import gpuinfer.cli.Main;
import gpuinfer.model.SafeTensors;
import gpuinfer.tensor.Npy;
import gpuinfer.tensor.RandomTensors;
import gpuinfer.tensor.Tensor;
import gpuinfer.testing.OpenClTestSupport;
import gpuinfer.testing.SafeTensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --check-finite finds the first NaN and says where. */
class NonFiniteTest {
    @TempDir
    Path dir;

    private static String[] run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Main.execute(new PrintWriter(out), new PrintWriter(err), args);
        return new String[] {Integer.toString(status), out.toString(), err.toString()};
    }

    @Test
    void aNanInOneWeightIsReportedAtTheFirstTensorItReaches() throws Exception {
        OpenClTestSupport.device("lwjgl");
        Path source = Path.of("src/test/resources/golden/gpt2/random-tiny");
        Path model = dir.resolve("nan-model");
        Files.createDirectories(model);
        for (String f : new String[] {"config.json", "vocab.json", "merges.txt"}) {
            Files.copy(source.resolve(f), model.resolve(f));
        }
        SafeTensorsWriter writer = new SafeTensorsWriter();
        try (SafeTensors st = SafeTensors.open(source.resolve("model.safetensors"))) {
            for (SafeTensors.Entry e : st.entries().values()) {
                float[] values = st.read(e);
                if (e.name().endsWith("h.1.mlp.c_fc.bias")) {
                    values[7] = Float.NaN;
                }
                writer.put(e.name(), values, e.shape());
            }
        }
        writer.write(model.resolve("model.safetensors"), "F32");
        for (String impl : new String[] {"opencl", "cpu"}) {
            String[] r = run("run", "--model", model.toString(), "--prompt", "hello", "--max-tokens", "3", "--check-finite", "--impl", impl);
            assertEquals("1", r[0], String.join("\n", r));
            assertTrue(r[2].contains("--check-finite: h.1.mlp_hidden [") && r[2].contains(", 7] is NaN") && r[2].contains("prefill"),
                    String.join("\n", r));
        }
        String[] clean = run("run", "--prompt", "hello", "--max-tokens", "3", "--check-finite");
        assertEquals("0", clean[0], String.join("\n", clean));
    }

    @Test
    void aNanInTheQueriesIsReportedInTheOutput() throws Exception {
        OpenClTestSupport.device("lwjgl");
        Tensor q = RandomTensors.gaussian(1, 0, 1, 2, 5, 8);
        q.data()[2 * 5 * 8 - 3] = Float.POSITIVE_INFINITY; // head 1, row 4
        Tensor k = RandomTensors.gaussian(1, 1, 1, 2, 6, 8);
        Npy.write(dir.resolve("q.npy"), q);
        Npy.write(dir.resolve("k.npy"), k);
        String[] r = run("attention", "--q", dir.resolve("q.npy").toString(), "--k", dir.resolve("k.npy").toString(),
                "--v", dir.resolve("k.npy").toString(), "--check-finite");
        assertEquals("1", r[0], String.join("\n", r));
        assertTrue(r[2].contains("--check-finite: out [0, 1, 4, "), String.join("\n", r));
        // rows that see no key have lse -inf by definition: not a finding
        String[] masked = run("attention", "--shape", "1,2,1,9,4,8", "--causal", "--check-finite");
        assertEquals("0", masked[0], String.join("\n", masked));
    }
}
