package gpuinfer.viz;

import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.model.LoadedModel;
import gpuinfer.model.ModelConfig;
import gpuinfer.model.ModelLocator;
import gpuinfer.ops.Rope;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link Positions}: learned tables and their similarities, rotary frequencies and the patterns they make. */
class PositionsTest {
    /** Values computed in double and rounded once to float32 (half an ulp, 2^-24 relative); atol for values near 0. */
    static final Tolerance ROUNDED_ONCE = new Tolerance(1e-12, 0x1p-24);
    /**
     * A dot product of float32 vectors rotated by {@link Rope#rotate} (each component rounded to float32) against
     * the formula in double: D components of ~1/√D, each off by ~2^-24 relative, so ~1e-7; tenfold margin.
     */
    static final Tolerance ROTATED_FLOATS = new Tolerance(1e-6, 1e-6);

    static void passes(Comparison c) {
        assertTrue(c.passed(), c.report());
    }

    @Test
    void cosineOfHandMadeTable() {
        float[][] table = {{1, 0}, {0, 2}, {3, 3}, {0, 0}};
        Positions.Learned learned = Positions.learned(table, 4);
        float[][] cos = learned.cosine().values();
        float r = (float) (1 / Math.sqrt(2));
        passes(Validate.compare("row 0", cos[0], new float[] {1, 0, r, Float.NaN}, ROUNDED_ONCE));
        passes(Validate.compare("row 1", cos[1], new float[] {0, 1, r, Float.NaN}, ROUNDED_ONCE));
        passes(Validate.compare("row 2", cos[2], new float[] {r, r, 1, Float.NaN}, ROUNDED_ONCE));
        assertTrue(Float.isNaN(cos[3][3]), "a zero row has no direction");
        assertEquals(2, learned.width());
        assertEquals(4, learned.positions());
    }

    @Test
    void bundledModelTableIsItsWpeWithUnitDiagonalAndSymmetricSimilarity() {
        LoadedModel model = LoadedModel.openAsStored(ModelLocator.bundled());
        Positions.Encoding encoding = Positions.of(model.config(), model.weights(), 1000);
        Positions.Learned learned = assertInstanceOf(Positions.Learned.class, encoding);
        int p = model.config().nPositions();
        assertEquals(p, learned.positions(), "clamped to the context");
        assertEquals(model.config().nEmbd(), learned.width());
        float[] wpe = model.weights().positionEmbedding.toFloats();
        float[][] table = learned.table().values();
        for (int i = 0; i < p; i++) {
            assertArrayEquals(Arrays.copyOfRange(wpe, i * learned.width(), (i + 1) * learned.width()), table[i], "row " + i);
        }
        float[][] cos = learned.cosine().values();
        float[] diagonal = new float[p];
        float[] ones = new float[p];
        Arrays.fill(ones, 1);
        for (int i = 0; i < p; i++) {
            diagonal[i] = cos[i][i];
            for (int j = 0; j < p; j++) {
                assertEquals(cos[i][j], cos[j][i], "symmetric at " + i + ", " + j);
                assertTrue(Math.abs(cos[i][j]) <= 1 + 1e-6, "a cosine at " + i + ", " + j + ": " + cos[i][j]);
            }
        }
        passes(Validate.compare("cosine of a position with itself", diagonal, ones, ROUNDED_ONCE));
        assertEquals(16, Positions.of(model.config(), model.weights(), 16).positions());
    }

    static Rope llama3Rope() {
        return Rope.of(64, Rope.Order.HALVES, 500000, 1, new Rope.Llama3Scaling(8, 1, 4, 8192));
    }

    @Test
    void rotaryFrequenciesAreTheRopesAndScalingIsReported() {
        Rope rope = llama3Rope();
        Positions.Rotary rotary = Positions.rotary(rope, 32);
        assertArrayEquals(rope.inverseFrequency(), rotary.inverseFrequency(), "frequencies as Rope has them");
        assertEquals(64, rotary.dims());
        assertEquals(32, rotary.inverseFrequency().length, "one frequency per pair");
        for (int k = 0; k < 32; k++) {
            assertEquals(2 * Math.PI / rope.inverseFrequency()[k], rotary.wavelength()[k], "wavelength of pair " + k);
            assertEquals(Math.pow(500000, -2.0 * k / 64), rotary.unscaledInverseFrequency()[k], "unscaled pair " + k);
        }
        assertTrue(rotary.scaled(), "Llama 3 scaling divides the low frequencies");
        assertFalse(Positions.rotary(Rope.of(64, Rope.Order.HALVES, 10000, 1, null), 8).scaled());
        Positions.Rotary bare = Positions.rotary(new Rope(4, Rope.Order.INTERLEAVED, new double[] {1, 0.1}), 8);
        assertEquals(null, bare.unscaledInverseFrequency(), "no base, no unscaled frequencies");
        assertFalse(bare.scaled());
    }

    @Test
    void rotaryScoreIsOneAtDistanceZeroAndDependsOnlyOnDistance() {
        Positions.Rotary rotary = Positions.rotary(llama3Rope(), 64);
        float[][] score = rotary.relativeScore().values();
        for (int i = 0; i < 64; i++) {
            assertTrue(ROUNDED_ONCE.accepts(score[i][i], 1), "diagonal " + i + ": " + score[i][i]);
            for (int j = 0; j < 64; j++) {
                assertEquals(score[Math.abs(i - j)][0], score[i][j], "score at " + i + ", " + j);
                assertEquals(rotary.scoreByDistance()[Math.abs(i - j)], score[i][j]);
            }
        }
    }

    /**
     * The score against an independent route: rotate one unit vector with equal components (so each pair holds
     * 1/(D/2) of its squared norm) by {@link Rope#rotate} at positions i and j and take the dot product.
     */
    @Test
    void rotaryScoreIsTheDotProductOfRotatedUnitVectors() {
        for (Rope rope : new Rope[] {llama3Rope(), Rope.of(16, Rope.Order.INTERLEAVED, 10000, 1, null)}) {
            int p = 40;
            Positions.Rotary rotary = Positions.rotary(rope, p);
            int d = rope.dims();
            float[][] rotated = new float[p][d];
            for (int pos = 0; pos < p; pos++) {
                Arrays.fill(rotated[pos], (float) (1 / Math.sqrt(d)));
                rope.rotate(rotated[pos], 0, pos);
            }
            for (int i = 0; i < p; i++) {
                float[] dots = new float[p];
                for (int j = 0; j < p; j++) {
                    double dot = 0;
                    for (int c = 0; c < d; c++) {
                        dot += (double) rotated[i][c] * rotated[j][c];
                    }
                    dots[j] = (float) dot;
                }
                passes(Validate.compare(rope + " score row " + i, rotary.relativeScore().values()[i], dots, ROTATED_FLOATS));
            }
        }
    }

    @Test
    void anglesAreTheRopesTableReducedToOneTurn() {
        Rope rope = llama3Rope();
        int p = 100;
        Positions.Rotary rotary = Positions.rotary(rope, p);
        int pairs = rope.dims() / 2;
        int[] positions = new int[p];
        for (int i = 0; i < p; i++) {
            positions[i] = i;
        }
        float[] table = rope.table(positions); // [P, pairs, 2] (cos, sin)
        float[] cosSin = new float[table.length];
        for (int pos = 0; pos < p; pos++) {
            for (int k = 0; k < pairs; k++) {
                float a = rotary.angle().values()[pos][k];
                assertTrue(a >= 0 && a <= 2 * Math.PI, "angle in [0, 2π]: " + a);
                cosSin[(pos * pairs + k) * 2] = (float) Math.cos(a);
                cosSin[(pos * pairs + k) * 2 + 1] = (float) Math.sin(a);
            }
        }
        // the angle is rounded to float32 (up to 2π·2^-24 ≈ 4e-7 absolute), so its cos and sin move as much
        passes(Validate.compare("cos and sin of the angles", cosSin, table, new Tolerance(1e-6, 0)));
        assertEquals(pairs, rotary.angle().columns());
        assertEquals(p, rotary.angle().rows());
    }

    @Test
    void positionCountIsClampedToTheContextAndChecked() {
        Rope rope = Rope.of(8, Rope.Order.HALVES, 10000, 1, null);
        ModelConfig config = new ModelConfig("llama", 1, 2, 2, 16, 8, 32, 100, 50, ModelConfig.Norm.RMS_NORM, 1e-5f,
                ModelConfig.Mlp.SWIGLU, rope, false, false, -1, (float) (1 / Math.sqrt(8)));
        Positions.Rotary rotary = assertInstanceOf(Positions.Rotary.class, Positions.of(config, null, 500));
        assertEquals(100, rotary.positions());
        assertEquals(Positions.DEFAULT_POSITIONS, Positions.rotary(rope, Positions.DEFAULT_POSITIONS).positions());
        assertThrows(IllegalArgumentException.class, () -> Positions.rotary(rope, 0));
    }
}
