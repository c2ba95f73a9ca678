package gpuinfer.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionShape;
import gpuinfer.tensor.Npy;
import gpuinfer.tensor.Tensor;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * The golden attention cases written by tools/golden_attention.py (NumPy, float64). A case without "scale" in its
 * meta.json is read with the default scale (1/√D), a case with "kv_lens" with those key-padding lengths.
 */
public record Golden(String name, AttentionProblem problem, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                     boolean scaleGiven) {
    public static List<Golden> attentionCases() {
        try {
            Path root = Path.of(Golden.class.getResource("/golden/attention").toURI());
            try (Stream<Path> dirs = Files.list(root)) {
                return dirs.filter(Files::isDirectory).sorted().map(Golden::load).toList();
            }
        } catch (IOException | URISyntaxException e) {
            throw new IllegalStateException("golden files missing: run /usr/bin/python3 tools/golden_attention.py", e);
        }
    }

    private static Golden load(Path dir) {
        try {
            JsonNode meta = new ObjectMapper().readTree(dir.resolve("meta.json").toFile());
            AttentionShape shape = new AttentionShape(meta.get("B").asInt(), meta.get("H").asInt(), meta.get("Hkv").asInt(),
                    meta.get("Sq").asInt(), meta.get("Sk").asInt(), meta.get("D").asInt());
            // no "scale": the case checks the reader's default (1/sqrt(D)), which the golden computed on its own
            float scale = meta.hasNonNull("scale") ? (float) meta.get("scale").asDouble()
                    : AttentionProblem.defaultScale(shape.headDim());
            int[] kvLens = null;
            if (meta.hasNonNull("kv_lens")) {
                kvLens = new int[meta.get("kv_lens").size()];
                for (int b = 0; b < kvLens.length; b++) {
                    kvLens[b] = meta.get("kv_lens").get(b).asInt();
                }
            }
            AttentionProblem problem = new AttentionProblem(shape, meta.get("causal").asBoolean(), scale, kvLens);
            return new Golden(dir.getFileName().toString(), problem, Npy.read(dir.resolve("q.npy")),
                    Npy.read(dir.resolve("k.npy")), Npy.read(dir.resolve("v.npy")), Npy.read(dir.resolve("out.npy")),
                    Npy.read(dir.resolve("lse.npy")), meta.hasNonNull("scale"));
        } catch (IOException e) {
            throw new IllegalStateException("cannot read golden case " + dir, e);
        }
    }

    /** The case's folder (its .npy files, for tests that pass them to the command line). */
    public static Path folder(String name) {
        java.net.URL url = Golden.class.getResource("/golden/attention/" + name);
        if (url == null) {
            throw new IllegalStateException("no golden case " + name + ": run /usr/bin/python3 tools/golden_attention.py");
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException("golden case " + name + " at " + url, e);
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
