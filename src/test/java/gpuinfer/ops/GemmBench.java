package gpuinfer.ops;

import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClKernel;
import gpuinfer.cl.ClQueue;
import gpuinfer.cl.ClRuntime;
import gpuinfer.cl.KernelSource;
import gpuinfer.cl.ProgramCache;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Times the float32 prefill products of linear.cl on TinyLlama 1.1B's shapes (R = 512): linear_nt (the [N, K]
 * dot-product kernel) against linear_packed (outer products from weights packed by pack_rows), and checks that the two
 * agree. A main, not a test: {@code java -cp target/classes:target/test-classes:target/lib/* gpuinfer.ops.GemmBench
 * [nt options] [packed options]}; prints GFLOP/s (medians of 3 after a warm-up) per shape, and the time of pack_rows
 * beside dequantize_rows (each run on float32 weights: the cost of the layout, not of a format's widening).
 */
public final class GemmBench {
    private GemmBench() {
    }

    public static void main(String[] args) {
        String ntOptions = args.length > 0 ? args[0] : "-DWTYPE=0 -DVEC=8 -DMB=4 -DNB=2 -DWG=8 -DWGR=16";
        String pkOptions = args.length > 1 ? args[1] : "-DWTYPE=0 -DVEC=8 -DMB=4 -DNB=2 -DWG=1 -DWGR=16";
        int R = 512;
        int[][] shapes = {{2048, 2048}, {2560, 2048}, {5632, 2048}, {2048, 5632}, {32000, 2048}};
        ClRuntime runtime = ClRuntime.get(ClRuntime.DEFAULT_BINDING);
        try (ClContext context = runtime.createContext(runtime.select("auto"), ProgramCache.defaultCache())) {
            ClQueue queue = context.queue();
            ClKernel nt = context.program(KernelSource.load("linear.cl"), ntOptions).kernel("linear_nt");
            ClKernel pk = context.program(KernelSource.load("linear.cl"), pkOptions).kernel("linear_packed");
            ClKernel pack = context.program(KernelSource.load("linear.cl"), pkOptions).kernel("pack_rows");
            ClKernel widen = context.program(KernelSource.load("linear.cl"), ntOptions).kernel("dequantize_rows");
            int ntMb = opt(ntOptions, "MB"), ntNb = opt(ntOptions, "NB"), ntWg = opt(ntOptions, "WG"), ntWgr = opt(ntOptions, "WGR");
            int pn = opt(pkOptions, "NB") * opt(pkOptions, "VEC"), pkMb = opt(pkOptions, "MB"), pkWgr = opt(pkOptions, "WGR");
            System.out.println("nt: " + ntOptions + "\npacked: " + pkOptions);
            SplittableRandom random = new SplittableRandom(1);
            for (int[] nk : shapes) {
                int N = nk[0], K = nk[1];
                float[] x = new float[R * K];
                float[] w = new float[N * K];
                for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
                for (int i = 0; i < w.length; i++) w[i] = (float) random.nextGaussian() * 0.05f;
                int panels = (N + pn - 1) / pn;
                try (ClBuffer bx = context.createBuffer(x, "x"); ClBuffer bw = context.createBuffer(w, "w");
                     ClBuffer bp = context.createBuffer(4L * panels * pn * K, "packed");
                     ClBuffer bwide = context.createBuffer(4L * N * K, "widened");
                     ClBuffer y1 = context.createBuffer(4L * R * N, "y1"); ClBuffer y2 = context.createBuffer(4L * R * N, "y2")) {
                    nt.arg(0, bx).arg(1, bw).arg(2, bx).arg(3, y1).arg(4, y1).arg(5, R).arg(6, N).arg(7, K).arg(8, 0).arg(9, 0).arg(10, 0);
                    long items = (N + ntNb - 1) / ntNb;
                    long[] ntGlobal = {(items + ntWg - 1) / ntWg * ntWg, ((R + ntMb - 1) / ntMb + ntWgr - 1) / ntWgr * ntWgr};
                    long[] ntLocal = {ntWg, ntWgr};
                    pack.arg(0, bw).arg(1, bp).arg(2, N).arg(3, K);
                    long[] packGlobal = {panels, ((K + 31) / 32 + 15) / 16 * 16};
                    long[] packLocal = {1, 16};
                    pk.arg(0, bx).arg(1, bp).arg(2, bx).arg(3, y2).arg(4, y2).arg(5, R).arg(6, N).arg(7, K).arg(8, 0).arg(9, 0).arg(10, 0);
                    long[] pkGlobal = {panels, ((R + pkMb - 1) / pkMb + pkWgr - 1) / pkWgr * pkWgr};
                    long[] pkLocal = {1, pkWgr};
                    double flops = 2.0 * R * N * K;
                    widen.arg(0, bw).arg(1, bwide).arg(2, N).arg(3, K);   // the widening linear_nt's prefill runs instead of pack_rows
                    double[] tWiden = time(queue, widen, new long[] {((K + 31) / 32 + 7) / 8 * 8, N}, new long[] {8, 1}, 3);
                    double[] tNt = time(queue, nt, ntGlobal, ntLocal, 3);
                    double[] tPack = time(queue, pack, packGlobal, packLocal, 3);

                    double[] tPk = time(queue, pk, pkGlobal, pkLocal, 3);
                    float[] a = new float[R * N];
                    float[] b = new float[R * N];
                    queue.read(y1, a);
                    queue.read(y2, b);
                    double maxDiff = 0;
                    for (int i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
                    System.out.printf("R=%d N=%5d K=%4d  nt %7.1f ms %6.1f GFLOP/s   packed %7.1f ms %6.1f GFLOP/s (+pack %5.1f ms; widen %5.1f ms)  max|diff| %.2g%n",
                            R, N, K, med(tNt), flops / med(tNt) / 1e6, med(tPk), flops / med(tPk) / 1e6, med(tPack), med(tWiden), maxDiff);
                }
            }
        }
    }

    private static int opt(String options, String name) {
        for (String o : options.split("\\s+")) {
            if (o.startsWith("-D" + name + "=")) return Integer.parseInt(o.substring(name.length() + 3));
        }
        throw new IllegalArgumentException(name + " missing from " + options);
    }

    private static double[] time(ClQueue queue, ClKernel k, long[] global, long[] local, int reps) {
        queue.launch(k, global, local);
        queue.finish();
        double[] t = new double[reps];
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            queue.launch(k, global, local);
            queue.finish();
            t[i] = (System.nanoTime() - t0) / 1e6;
        }
        return t;
    }

    private static double med(double[] t) {
        double[] s = t.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
