package gpuinfer.attention.ring;

import gpuinfer.InputException;
import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionResult;
import gpuinfer.attention.AttentionShape;
import gpuinfer.attention.CpuAttention;
import gpuinfer.attention.FlashAttention;
import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.cl.ClContext;
import gpuinfer.tensor.RandomTensors;
import gpuinfer.tensor.Tensor;
import gpuinfer.testing.NoLeaksInClass;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Ring attention against single-device flash and the CPU reference: N = 1..4, causal and not, lengths that do not
 * divide by N or 2N, grouped heads, key padding with a 0 and a 1, both layouts, ranks on one context and on separate
 * contexts; and the work balance of the zigzag layout.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(NoLeaksInClass.class)
class RingAttentionTest {
    private ClContext context;
    private ClContext second;

    @BeforeAll
    void open() {
        context = OpenClTestSupport.context(OpenClTestSupport.bindings().get(0));
        second = OpenClTestSupport.context(OpenClTestSupport.bindings().get(0));
    }

    @AfterAll
    void close() {
        second.close();
        context.close();
    }

    record Case(String name, AttentionShape shape, boolean causal, int[] kvLens, int ranks, RingLayout layout) {
        RingLayout layout(AttentionProblem p) {
            return layout != null ? layout : p.causal() ? RingLayout.ZIGZAG : RingLayout.CONTIGUOUS;
        }

        AttentionProblem problem() {
            AttentionProblem p = AttentionProblem.of(shape, causal);
            return kvLens == null ? p : p.withKvLens(kvLens);
        }

        @Override
        public String toString() {
            return name + " N=" + ranks + " " + (layout == null ? "default" : layout.label());
        }
    }

    static Stream<Case> cases() {
        List<Case> all = new ArrayList<>();
        for (int n = 1; n <= 4; n++) {
            all.add(new Case("causal, 53 rows (no divisor of 2N)", new AttentionShape(1, 2, 2, 53, 53, 16), true, null, n, null));
            all.add(new Case("not causal, Sq != Sk, GQA", new AttentionShape(2, 4, 2, 37, 61, 32), false, null, n, null));
            all.add(new Case("causal GQA, kv-lens 0 and 1 and 70", new AttentionShape(3, 4, 1, 70, 70, 64), true,
                    new int[] {0, 1, 70}, n, RingLayout.ZIGZAG));
        }
        all.add(new Case("causal contiguous", new AttentionShape(1, 2, 1, 45, 45, 16), true, null, 3, RingLayout.CONTIGUOUS));
        all.add(new Case("not causal zigzag, kv-lens", new AttentionShape(2, 2, 2, 33, 33, 16), false,
                new int[] {20, 1}, 2, RingLayout.ZIGZAG));
        all.add(new Case("causal contiguous, kv-lens", new AttentionShape(2, 2, 2, 40, 40, 16), true,
                new int[] {0, 39}, 4, RingLayout.CONTIGUOUS));
        return all.stream();
    }

    static Stream<Arguments> casesAndPaths() {
        return cases().flatMap(c -> Stream.of(Arguments.of(c, false, RingMemory.OVERLAP),
                Arguments.of(c, true, RingMemory.OVERLAP), Arguments.of(c, false, RingMemory.LOW),
                Arguments.of(c, true, RingMemory.LOW)));
    }

    /**
     * separateContexts: rank i on context (i even: the first, odd: a second context on the same device); memory: two
     * K/V slots per rank or one (blocks rotating through the host).
     */
    @ParameterizedTest(name = "{0}, separate contexts {1}, {2} memory")
    @MethodSource("casesAndPaths")
    void equalsFlashAndTheReference(Case c, boolean separateContexts, RingMemory memory) {
        AttentionProblem problem = c.problem();
        AttentionShape s = c.shape();
        Tensor q = RandomTensors.gaussian(11, 0, s.queryShape());
        Tensor k = RandomTensors.gaussian(11, 1, s.keyValueShape());
        Tensor v = RandomTensors.gaussian(11, 2, s.keyValueShape());
        Tensor wantOut = Tensor.zeros(s.outputShape());
        Tensor wantLse = Tensor.zeros(s.batch(), s.heads(), s.queryLen());
        CpuAttention.forward(wantOut.data(), wantLse.data(), q.data(), k.data(), v.data(), problem);
        List<ClContext> contexts = new ArrayList<>();
        for (int i = 0; i < c.ranks(); i++) {
            contexts.add(separateContexts && i % 2 == 1 ? second : context);
        }
        List<Rank> ranks = Rank.onContexts(contexts);
        RingResult ring;
        AttentionResult flash;
        long[] planned;
        try (RingAttention op = new RingAttention(ranks, c.layout(), memory);
             FlashAttention single = new FlashAttention(context)) {
            planned = op.rankBytes(problem);
            ring = op.run(problem, q, k, v);
            flash = single.run(problem, q, k, v);
        } finally {
            ranks.forEach(Rank::close);
        }
        for (Comparison cmp : List.of(
                Validate.compare("out vs reference", ring.result().out().data(), wantOut.data(), Tolerance.FP32_ATTENTION),
                Validate.compare("lse vs reference", ring.result().lse().data(), wantLse.data(), Tolerance.FP32_ATTENTION),
                Validate.compare("out vs flash", ring.result().out().data(), flash.out().data(), Tolerance.FP32_ATTENTION),
                Validate.compare("lse vs flash", ring.result().lse().data(), flash.lse().data(), Tolerance.FP32_ATTENTION))) {
            assertTrue(cmp.passed(), () -> c + "\n" + cmp.report());
        }
        long work = ring.ranks().stream().mapToLong(RankStats::work).sum();
        assertEquals(problem.visiblePairs(), work, "every visible pair is computed exactly once");
        assertEquals(c.ranks(), ring.ranks().size());
        assertEquals(memory, ring.memory());
        for (RankStats st : ring.ranks()) {
            assertEquals(planned[st.rank()], st.deviceBytes(), "the memory check counts what a rank allocates");
        }
        int expectedTransfers = c.ranks() == 1 ? 0 : 2 * (c.ranks() - 1) * (c.layout(problem) == RingLayout.ZIGZAG ? 2 : 1)
                * (memory == RingMemory.LOW ? 2 : 1) * c.ranks();
        assertEquals(expectedTransfers, ring.timelines().stream().mapToInt(t -> t.transfers().size()).sum(),
                "each of N - 1 steps moves every rank's k and v chunks (low memory: a read and a write each)");
    }

    @Test
    void lowMemoryHoldsOneSlotAndTheCheckRefusesWhatDoesNotFitBeforeAllocating() {
        AttentionProblem fits = AttentionProblem.of(new AttentionShape(1, 12, 12, 4096, 4096, 64), true);
        List<Rank> ranks = Rank.onOneContext(context, 2);
        try (RingAttention overlap = new RingAttention(ranks, null, RingMemory.OVERLAP);
             RingAttention low = new RingAttention(ranks, null, RingMemory.LOW);
             FlashAttention single = new FlashAttention(context)) {
            double one = single.deviceBytes(fits);
            // per rank, in units of one of q, k, v, out: q and out halves, K/V 1 per slot (no partial output)
            assertEquals(3.0 / 4, overlap.rankBytes(fits)[0] / one, 0.005);
            assertEquals(2.0 / 4, low.rankBytes(fits)[0] / one, 0.005);
            long global = context.device().info().globalMemBytes();
            // a sequence long enough that two ranks on one device need more than it has
            int s = 1 << 20;
            while ((double) low.rankBytes(AttentionProblem.of(new AttentionShape(1, 16, 16, s, s, 64), true))[0] * 2
                    <= global) {
                s *= 2;
            }
            AttentionProblem tooLong = AttentionProblem.of(new AttentionShape(1, 16, 16, s, s, 64), true);
            long before = context.allocatedBytes();
            InputException e = assertThrows(InputException.class, () -> overlap.checkFits(tooLong));
            assertTrue(e.getMessage().contains("--ring-memory low") && e.getMessage().contains("--ring 4"), e::getMessage);
            InputException lowE = assertThrows(InputException.class, () -> low.checkFits(tooLong));
            assertFalse(lowE.getMessage().contains("--ring-memory low"), lowE::getMessage);
            assertEquals(before, context.allocatedBytes());
        } finally {
            ranks.forEach(Rank::close);
        }
    }

    @Test
    void zigzagBalancesCausalWorkAndContiguousDoesNot() {
        AttentionShape s = new AttentionShape(1, 1, 1, 240, 240, 16);
        AttentionProblem problem = AttentionProblem.of(s, true);
        Tensor q = RandomTensors.gaussian(2, 0, s.queryShape());
        Tensor k = RandomTensors.gaussian(2, 1, s.keyValueShape());
        Tensor v = RandomTensors.gaussian(2, 2, s.keyValueShape());
        List<Rank> ranks = Rank.onOneContext(context, 4);
        try (RingAttention zigzag = new RingAttention(ranks, RingLayout.ZIGZAG);
             RingAttention contiguous = new RingAttention(ranks, RingLayout.CONTIGUOUS)) {
            RingResult z = zigzag.run(problem, q, k, v);
            RingResult c = contiguous.run(problem, q, k, v);
            assertTrue(z.workImbalance() < 1.02, "zigzag max/min work " + z.workImbalance() + " " + z.ranks());
            assertTrue(c.workImbalance() > 3, "contiguous max/min work " + c.workImbalance() + " " + c.ranks());
            // causal contiguous: rank r skips the N-1-r blocks after its own; zigzag skips about half its pairs
            assertEquals(List.of(3, 2, 1, 0), c.ranks().stream().map(RankStats::skipped).toList());
            assertTrue(z.ranks().stream().allMatch(r -> r.skipped() > 0), z.ranks()::toString);
        } finally {
            ranks.forEach(Rank::close);
        }
    }
}
