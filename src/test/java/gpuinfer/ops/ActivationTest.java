package gpuinfer.ops;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ActivationTest {
    @Test
    void erfMatchesKnownValues() {
        // Abramowitz & Stegun table values (and erf(-x) = -erf(x))
        double[][] table = {{0, 0}, {0.1, 0.1124629160182849}, {0.5, 0.5204998778130465}, {1, 0.8427007929497149},
                {1.5, 0.9661051464753108}, {2, 0.9953222650189527}, {3, 0.9999779095030014}, {4.5, 0.9999999998033839},
                {6, 1.0}, {-0.7, -0.6778011938374184}, {-2.5, -0.9995930479825550}};
        for (double[] row : table) {
            assertEquals(row[1], Erf.erf(row[0]), 1e-14, "erf(" + row[0] + ")");
        }
    }

    @Test
    void geluVariantsMatchTheirDefinitions() {
        assertEquals(0.8413447460685429, Activation.GELU_ERF.apply(1.0), 1e-12, "0.5 * (1 + erf(1/sqrt 2))");
        assertEquals(0.8411919906082768, Activation.GELU_TANH.apply(1.0), 1e-12);
        assertEquals(Activation.GELU_ERF.apply(1.0), Activation.GELU_TANH.apply(1.0), 2e-4, "the tanh form approximates the erf form");
        assertEquals(0.5 * -3 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (-3 + 0.044715 * -27))), Activation.GELU_TANH.apply(-3), 1e-15);
        assertEquals(2.5, Activation.NONE.apply(2.5));
    }
}
