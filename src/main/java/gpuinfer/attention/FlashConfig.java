package gpuinfer.attention;

import gpuinfer.InputException;
import gpuinfer.cl.DeviceInfo;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Tuning values of {@code kernels/attention_flash.cl}, passed as -D options (the header of that file describes
 * each), plus two host-side choices for decode shapes. One set serves every variant of the file: each kernel reads
 * its own values (flash_attention_tiled VEC..KT, flash_dsplit QR, DT, DKT, the decode kernels SPLIT_WG, KB and
 * flash_decode_dsplit DEC_DT, DEC_KL).
 *
 * @param vec          floats per vector: 1, 2, 4, 8 or 16; divides the head size and kt
 * @param wg           work-items per group of the tiled kernel
 * @param qb           query rows per work-item of the tiled kernel (1..8)
 * @param nb           key vectors per register block of the score pass (1..8; divides kt/vec)
 * @param cb           output column vectors per register block of the P·V pass (1..8; divides D/vec)
 * @param kt           keys per local-memory tile of the tiled kernel
 * @param splitWg      work-items per group of the decode kernels
 * @param kb           keys per block inside a decode split
 * @param decodeMaxSq  the split-K decode kernels run when Sq is at most this
 * @param keysPerSplit keys each decode work-item (flash_decode_split) or work-group (flash_decode_dsplit) covers;
 *                     0 lets the host choose from the device's size
 * @param qr           query rows per work-group of flash_dsplit
 * @param dt           work-items per query row of flash_dsplit, each owning D/DT dimensions; divides the head size
 * @param dkt          keys per local-memory tile of flash_dsplit
 * @param decDt        work-items per key lane of flash_decode_dsplit, each owning D/DEC_DT dimensions; divides D
 * @param decKl        key lanes per work-group of flash_decode_dsplit (each runs its own online softmax over KB keys
 *                     at a time; the lanes are merged at the end)
 */
public record FlashConfig(int vec, int wg, int qb, int nb, int cb, int kt, int splitWg, int kb, int decodeMaxSq,
                          int keysPerSplit, int qr, int dt, int dkt, int decDt, int decKl) {
    /** Names {@code --kernel-define} accepts. */
    public static final String[] NAMES = {"VEC", "WG", "QB", "NB", "CB", "KT", "SPLIT_WG", "KB", "DECODE_MAX_SQ",
            "KEYS_PER_SPLIT", "QR", "DT", "DKT", "DEC_DT", "DEC_KL"};

    /**
     * The tiles one variant works in, as a test or sweep needs them to build shapes around: query rows per
     * work-group, keys per tile (per step of a split for the decode kernels, whose query rows are one per group or
     * work-item), and how many work-items share one row's D.
     */
    public record Tiles(int queryRows, int keyTile, int dSplit) {
    }

    public FlashConfig {
        if (vec != 1 && vec != 2 && vec != 4 && vec != 8 && vec != 16) {
            throw new InputException("VEC must be 1, 2, 4, 8 or 16, not " + vec);
        }
        if (wg < 1 || qb < 1 || nb < 1 || cb < 1 || kt < 1 || splitWg < 1 || kb < 1 || decodeMaxSq < 0 || keysPerSplit < 0) {
            throw new InputException("flash tuning values must be positive: " + describeValues(vec, wg, qb, nb, cb, kt));
        }
        if (qb > 8 || nb > 8 || cb > 8) {
            throw new InputException("QB, NB and CB are at most 8: " + describeValues(vec, wg, qb, nb, cb, kt));
        }
        if (kt % vec != 0 || (kt / vec) % nb != 0) {
            throw new InputException("KT=" + kt + " must be a multiple of VEC*NB=" + vec * nb);
        }
        if (kt > 256 || kb > 64) {
            throw new InputException("KT (at most 256) or KB (at most 64) too large: KT=" + kt + " KB=" + kb);
        }
        if (qr < 1 || dt < 1 || dkt < 1 || decDt < 1 || decKl < 1) {
            throw new InputException("flash tuning values must be positive: QR=" + qr + " DT=" + dt + " DKT=" + dkt
                    + " DEC_DT=" + decDt + " DEC_KL=" + decKl);
        }
        if (dkt > 256 || (long) qr * dt > 65536 || (long) decKl * decDt > 65536) {
            // Whether a work-group fits is the device's business (FlashAttention checks the kernel's limits and
            // falls back); these bounds only keep the sizes meaningful.
            throw new InputException("DKT (at most 256), QR*DT or DEC_KL*DEC_DT (at most 65536) too large: DKT=" + dkt
                    + " QR=" + qr + " DT=" + dt + " DEC_KL=" + decKl + " DEC_DT=" + decDt);
        }
    }

    /** The tiles of a variant ({@link gpuinfer.variants.Variants#FLASH_PREFILL} or FLASH_DECODE names). */
    public Tiles tiles(String variant) {
        return switch (variant) {
            case "flash_tiled" -> new Tiles(wg * qb, kt, 1);
            case "flash_dsplit" -> new Tiles(qr, dkt, dt);
            case "flash_decode_split" -> new Tiles(1, kb, 1);
            case "flash_decode_dsplit" -> new Tiles(1, decKl * kb, decDt);
            default -> throw new IllegalArgumentException("not a flash variant: " + variant);
        };
    }

    /**
     * Defaults for a device and head size. CPUs (PoCL): the preferred vector width (8 with AVX2, 16 with AVX-512)
     * and register blocks sized to the vector register file: with 32 registers (AVX-512) 8 query rows per
     * work-item times 2 key vectors (19 registers live), with 16 (AVX2) 4 rows times 2. Measured on the 2-core
     * AVX-512 machine (medians of 3 processes x 7 runs, B=1 H=12 D=64 causal): QB=8 NB=2 CB=2 83 GFLOP/s at
     * S=1024 and 102 at S=4096, against 66 and 64 for QB=4 NB=4 CB=4. GPUs: one row per work-item, 64
     * work-items, 4-float vectors. The tile shrinks until K and V tiles fit half the local memory.
     * {@code gpu-infer tune} searches further on the user's device.
     */
    public static FlashConfig defaults(DeviceInfo device, int headDim) {
        boolean gpu = device.isGpu();
        int kt = 64;
        long local = Math.max(4096, device.localMemBytes());
        while (kt > 8 && 2L * kt * headDim * 4 > local / 2) {
            kt /= 2;
        }
        int vec = gpu ? 4 : Math.max(4, Math.min(16, device.preferredFloatVectorWidth()));
        while (vec > 1 && (headDim % vec != 0 || kt % vec != 0)) {
            vec /= 2;
        }
        boolean wideRegisterFile = !gpu && device.preferredFloatVectorWidth() >= 16;
        int qb = gpu ? 1 : wideRegisterFile ? 8 : 4;
        int block = gpu ? 1 : 2;
        int nb = largestDivisorAtMost(kt / vec, block);
        int cb = largestDivisorAtMost(headDim / vec, block);
        int wg = (int) Math.min(gpu ? 64 : 16, device.maxWorkGroupSize());
        int splitWg = (int) Math.min(gpu ? 64 : 16, device.maxWorkGroupSize());
        // The GPU-shaped variants have the same defaults everywhere (they run on CPUs only when forced, for tests):
        // 8 work-items share a row (fewer for D < 64, so that each owns at least 8 dimensions), 64 per group, and
        // flash_dsplit's key tile as large as fits half the local memory (counted at most 64 KiB).
        int dt = largestDivisorAtMost(headDim, Math.min(8, Math.max(1, headDim / 8)));
        int qr = Math.max(1, 64 / dt);
        long localBudget = Math.min(64 * 1024, Math.max(4096, device.localMemBytes())) / 2;
        int dkt = 64;
        while (dkt > 4 && dsplitLocalBytes(headDim, qr, dt, dkt) > localBudget) {
            dkt /= 2;
        }
        int decKl = Math.max(1, 64 / dt);
        return new FlashConfig(vec, wg, qb, nb, cb, kt, splitWg, 8, 8, 0, qr, dt, dkt, dt, decKl);
    }

    /** Local memory of flash_dsplit: K and V tiles, the partial dot products, the probabilities, the row statistics. */
    static long dsplitLocalBytes(int headDim, int qr, int dt, int dkt) {
        return 4L * (2L * dkt * headDim + (long) qr * dt * (dkt + 1) + (long) qr * (dkt + 1) + (long) qr * dt);
    }

    static int largestDivisorAtMost(int n, int limit) {
        for (int d = Math.min(n, limit); d > 1; d--) {
            if (n % d == 0) {
                return d;
            }
        }
        return 1;
    }

    /** These values with some replaced, e.g. {"QB": "2"} from {@code --kernel-define QB=2}. */
    public FlashConfig with(Map<String, String> overrides) {
        if (overrides.isEmpty()) {
            return this;
        }
        Map<String, Integer> values = asMap();
        for (Map.Entry<String, String> e : overrides.entrySet()) {
            String name = e.getKey().trim().toUpperCase(Locale.ROOT);
            if (!values.containsKey(name)) {
                throw new InputException("Unknown flash kernel define '" + e.getKey() + "': use one of "
                        + String.join(", ", NAMES) + ".");
            }
            try {
                values.put(name, Integer.parseInt(e.getValue().trim()));
            } catch (NumberFormatException ex) {
                throw new InputException("--kernel-define " + e.getKey() + "=" + e.getValue() + ": the value must be an integer.");
            }
        }
        return new FlashConfig(values.get("VEC"), values.get("WG"), values.get("QB"), values.get("NB"), values.get("CB"),
                values.get("KT"), values.get("SPLIT_WG"), values.get("KB"), values.get("DECODE_MAX_SQ"),
                values.get("KEYS_PER_SPLIT"), values.get("QR"), values.get("DT"), values.get("DKT"), values.get("DEC_DT"),
                values.get("DEC_KL"));
    }

    /** The -D options of the program for a head size. */
    public String options(int headDim) {
        if (headDim % vec != 0 || (headDim / vec) % cb != 0) {
            throw new InputException("VEC=" + vec + " and CB=" + cb + " do not fit the head size D=" + headDim
                    + ": D must be a multiple of VEC*CB.");
        }
        if (headDim % dt != 0 || headDim % decDt != 0) {
            throw new InputException("DT=" + dt + " and DEC_DT=" + decDt + " must divide the head size D=" + headDim + ".");
        }
        return "-DHEAD_DIM=" + headDim + " -DVEC=" + vec + " -DWG=" + wg + " -DQB=" + qb + " -DNB=" + nb + " -DCB=" + cb
                + " -DKT=" + kt + " -DSPLIT_WG=" + splitWg + " -DKB=" + kb + " -DQR=" + qr + " -DDT=" + dt + " -DDKT=" + dkt
                + " -DDEC_DT=" + decDt + " -DDEC_KL=" + decKl;
    }

    Map<String, Integer> asMap() {
        Map<String, Integer> m = new LinkedHashMap<>();
        m.put("VEC", vec);
        m.put("WG", wg);
        m.put("QB", qb);
        m.put("NB", nb);
        m.put("CB", cb);
        m.put("KT", kt);
        m.put("SPLIT_WG", splitWg);
        m.put("KB", kb);
        m.put("DECODE_MAX_SQ", decodeMaxSq);
        m.put("KEYS_PER_SPLIT", keysPerSplit);
        m.put("QR", qr);
        m.put("DT", dt);
        m.put("DKT", dkt);
        m.put("DEC_DT", decDt);
        m.put("DEC_KL", decKl);
        return m;
    }

    private static String describeValues(int vec, int wg, int qb, int nb, int cb, int kt) {
        return "VEC=" + vec + " WG=" + wg + " QB=" + qb + " NB=" + nb + " CB=" + cb + " KT=" + kt;
    }
}
