package gpuinfer.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --ablate, --scale-head and --attend-mask on run and compare, with the bundled model given by --model. */
class InterventionOptionsTest {
    private static final String MODEL = "models/gpt2-brown";

    private static String generated(CliRunner r) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.out()).get("completions").get(0)
                    .get("generatedIds").toString();
        } catch (java.io.IOException e) {
            throw new AssertionError(r.toString(), e);
        }
    }

    @Test
    void runWithInterventionsGeneratesOtherwiseAndSaysSo() {
        CliRunner plain = CliRunner.run("run", "--model", MODEL, "--prompt", "The jury said", "--max-tokens", "6",
                "--temperature", "0", "--impl", "cpu", "--json");
        assertEquals(0, plain.status(), plain::toString);
        CliRunner altered = CliRunner.run("run", "--model", MODEL, "--prompt", "The jury said", "--max-tokens", "6",
                "--temperature", "0", "--impl", "cpu", "--json", "--ablate", "0.0", "--ablate", "0.1", "--scale-head",
                "1.2=3", "--attend-mask", "1.3:0-2");
        assertEquals(0, altered.status(), altered::toString);
        assertTrue(altered.out().contains("\"interventions\"") && altered.out().contains("ablate 0.0, ablate 0.1"),
                altered::toString);
        assertNotEquals(generated(plain), generated(altered));
    }

    @Test
    void compareAppliesThemToExecutionBOnly() {
        CliRunner r = CliRunner.run("compare", "--model", MODEL, "--prompt", "hello there", "--max-tokens", "0",
                "--a", "cpu", "--b", "cpu", "--ablate", "1.0");
        assertEquals(1, r.status(), r::toString);
        assertTrue(r.out().contains("execution b runs with ablate 1.0"), r::toString);
        // layer 0 is untouched, so the runs diverge at layer 1's attention output
        assertTrue(r.out().contains("diverge first at 'h.1.attn_heads'"), r::toString);
        CliRunner same = CliRunner.run("compare", "--model", MODEL, "--prompt", "hello there", "--max-tokens", "0",
                "--a", "cpu", "--b", "cpu", "--scale-head", "0.0=1");
        assertEquals(0, same.status(), same::toString);
        CliRunner help = CliRunner.run("compare", "--help");
        assertTrue(help.out().contains("execution b only"), help::toString);
    }

    @Test
    void badValuesAreInputErrors() {
        for (String[] bad : new String[][] {{"--ablate", "x"}, {"--ablate", "9.0"}, {"--ablate", "0.99"},
                {"--scale-head", "0.0"}, {"--scale-head", "0.0=nan"}, {"--attend-mask", "0.0:5-2"},
                {"--attend-mask", "0.0"}}) {
            CliRunner r = CliRunner.run("run", "--model", MODEL, "--prompt", "hi", "--max-tokens", "1", "--impl", "cpu",
                    bad[0], bad[1]);
            assertEquals(2, r.status(), r::toString);
            assertTrue(r.err().contains(bad[0].equals("--ablate") && !bad[1].equals("x") ? "layers of" : bad[0]),
                    r::toString);
        }
        CliRunner c = CliRunner.run("compare", "--model", MODEL, "--prompt", "hi", "--a", "cpu", "--b", "cpu",
                "--attend-mask", "4.0:0-1");
        assertEquals(2, c.status(), c::toString);
        assertTrue(c.err().contains("layers of"), c::toString);
    }
}
