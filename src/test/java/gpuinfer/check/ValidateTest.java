package gpuinfer.check;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ValidateTest {
    private static final Tolerance TOL = new Tolerance(1e-3, 1e-2);

    @Test
    void passesWithinAtolPlusRtolTimesReference() {
        Comparison c = Validate.compare("x", new float[] {1.0105f, 0.0009f, -100.9f}, new float[] {1f, 0f, -100f}, TOL);
        assertTrue(c.passed(), c::report);
        assertEquals(0.9, c.maxAbsError(), 1e-4);
    }

    @Test
    void reportsTheFirstMismatchesAndCountsAll() {
        float[] want = new float[20];
        float[] got = new float[20];
        for (int i = 5; i < 20; i++) {
            got[i] = 1;
        }
        Comparison c = Validate.compare("x", got, want, TOL);
        assertFalse(c.passed());
        assertEquals(15, c.mismatches());
        assertEquals(10, c.firstMismatches().size());
        assertEquals(5, c.firstMismatches().get(0).index());
        assertTrue(c.report().contains("and 5 more"), c::report);
        assertTrue(c.summary().contains("FAIL, 15 of 20 outside"), c::summary);
    }

    @Test
    void nonFiniteReferenceEntriesMustMatchExactly() {
        float inf = Float.NEGATIVE_INFINITY;
        assertTrue(Validate.compare("lse", new float[] {inf, Float.NaN}, new float[] {inf, Float.NaN}, TOL).passed());
        assertFalse(Validate.compare("lse", new float[] {-1e30f}, new float[] {inf}, TOL).passed());
        Comparison nan = Validate.compare("x", new float[] {Float.NaN}, new float[] {1f}, TOL);
        assertFalse(nan.passed(), "a NaN where a number is expected fails");
        assertEquals(Double.POSITIVE_INFINITY, nan.maxAbsError());
    }

    @Test
    void relativeErrorIgnoresTheNoiseOfValuesNearZero() {
        Comparison c = Validate.compare("x", new float[] {1e-6f, 2f}, new float[] {1e-9f, 2.002f}, TOL);
        assertEquals(0.002 / 2.002, c.maxRelError(), 1e-6, "the tiny entry is measured against atol/rtol = 0.1");
    }

    @Test
    void rejectsNegativeTolerancesAndLengthMismatch() {
        assertThrows(IllegalArgumentException.class, () -> new Tolerance(-1, 0));
        assertThrows(IllegalArgumentException.class, () -> Validate.compare("x", new float[1], new float[2], TOL));
    }
}
