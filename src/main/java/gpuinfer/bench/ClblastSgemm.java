package gpuinfer.bench;

import gpuinfer.cl.ClRuntime;
import gpuinfer.tensor.RandomTensors;
import org.lwjgl.PointerBuffer;
import org.lwjgl.opencl.CL10;
import org.lwjgl.system.Library;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.system.MemoryUtil;
import org.lwjgl.system.Pointer;
import org.lwjgl.system.SharedLibrary;
import org.lwjgl.system.libffi.FFICIF;
import org.lwjgl.system.libffi.FFIType;
import org.lwjgl.system.libffi.LibFFI;

import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The child process of the CLBlast anchor ({@link ClblastAnchor}): times CLBlast's SGEMM ({@code CLBlastSgemm} of
 * {@code libclblast.so.1}, called through LWJGL's libffi) on one OpenCL device, for a list of shapes, and prints one
 * JSON line per shape on stdout. It runs in its own JVM so that a crash or a very long first kernel compile inside
 * CLBlast cannot take the benchmark down with it, and so that CLBlast's OpenCL objects live and die with it.
 *
 * <p>Our layout is y[R, N] = x[R, K] · W[N, K]ᵀ, all row-major: CLBlast's row-major SGEMM with m = R, n = N, k = K,
 * A = x (lda = K), B = W transposed (ldb = K), C = y (ldc = N). Each shape is called {@code warmup} times (the first
 * call builds CLBlast's kernels for it), then {@code runs} times, each timed from the call to {@code clFinish}; then
 * sampled outputs are checked against double-precision dot products of the same float32 inputs
 * ({@link PrefillGemm#worstError}), so that a wrong layout or transpose shows instead of a fast wrong figure.
 *
 * <p>Arguments: {@code LIBRARY PLATFORM_INDEX DEVICE_INDEX PLATFORM_NAME DEVICE_NAME WARMUP RUNS R,N,K...}.
 */
public final class ClblastSgemm {
    /** CLBlast's enum values (clblast_c.h). */
    static final int LAYOUT_ROW_MAJOR = 101;
    static final int TRANSPOSE_NO = 111;
    static final int TRANSPOSE_YES = 112;
    private ClblastSgemm() {
    }

    public static void main(String[] args) {
        PrintStream out = System.out;
        try {
            run(args, out);
        } catch (Throwable t) {
            out.println("{\"error\": " + quote(t.toString()) + "}");
            out.flush();
            System.exit(1);
        }
        out.flush();
        System.exit(0);
    }

    private static void run(String[] args, PrintStream out) {
        if (args.length < 8) {
            throw new IllegalArgumentException("usage: LIBRARY PLATFORM_INDEX DEVICE_INDEX PLATFORM_NAME DEVICE_NAME WARMUP RUNS R,N,K...");
        }
        String library = args[0];
        int platformIndex = Integer.parseInt(args[1]);
        int deviceIndex = Integer.parseInt(args[2]);
        String platformName = args[3];
        String deviceName = args[4];
        int warmup = Integer.parseInt(args[5]);
        int runs = Integer.parseInt(args[6]);
        List<int[]> shapes = new ArrayList<>();
        for (int i = 7; i < args.length; i++) {
            String[] p = args[i].split(",");
            shapes.add(new int[] {Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2])});
        }
        ClRuntime.get("lwjgl"); // loads the OpenCL library as gpu-infer's LWJGL binding does
        try (SharedLibrary clblast = Library.loadNative(ClblastSgemm.class, "org.lwjgl", library)) {
            long sgemm = clblast.getFunctionAddress("CLBlastSgemm");
            if (sgemm == MemoryUtil.NULL) {
                throw new IllegalStateException(library + " has no CLBlastSgemm");
            }
            long device = findDevice(platformIndex, deviceIndex, platformName, deviceName);
            out.println("{\"library\": " + quote(clblast.getPath() == null ? library : clblast.getPath())
                    + ", \"device\": " + quote(deviceInfo(device, CL10.CL_DEVICE_NAME)) + "}");
            out.flush();
            try (Session session = new Session(device, sgemm)) {
                for (int[] s : shapes) {
                    out.println(session.measure(s[0], s[1], s[2], warmup, runs));
                    out.flush();
                }
            }
        }
    }

    /**
     * The device at the given indices when its names match (the parent enumerated through the same ICD loader),
     * else the first device with both names; an error when there is none.
     */
    static long findDevice(int platformIndex, int deviceIndex, String platformName, String deviceName) {
        long[] platforms = platforms();
        long byName = MemoryUtil.NULL;
        for (int p = 0; p < platforms.length; p++) {
            if (!platformInfo(platforms[p], CL10.CL_PLATFORM_NAME).equals(platformName)) {
                continue;
            }
            long[] devices = devices(platforms[p]);
            for (int d = 0; d < devices.length; d++) {
                if (deviceInfo(devices[d], CL10.CL_DEVICE_NAME).equals(deviceName)) {
                    if (p == platformIndex && d == deviceIndex) {
                        return devices[d];
                    }
                    if (byName == MemoryUtil.NULL) {
                        byName = devices[d];
                    }
                }
            }
        }
        if (byName == MemoryUtil.NULL) {
            throw new IllegalStateException("no OpenCL device named '" + deviceName + "' on a platform named '" + platformName + "'");
        }
        return byName;
    }

    /** One OpenCL context and queue on the device, and the libffi call description of CLBlastSgemm. */
    private static final class Session implements AutoCloseable {
        private final long device;
        private final long function;
        private final long context;
        private final long queue;
        private final FFICIF cif = FFICIF.calloc();
        private final PointerBuffer argTypes;
        /** Storage of the 19 arguments (8 bytes each), their addresses, the return value and the queue/event slots. */
        private final ByteBuffer argValues = MemoryUtil.memCalloc(19 * 8);
        private final PointerBuffer argPointers = MemoryUtil.memAllocPointer(19);
        private final ByteBuffer returned = MemoryUtil.memCalloc(8);
        private final PointerBuffer queueSlot = MemoryUtil.memAllocPointer(1);
        private final PointerBuffer eventSlot = MemoryUtil.memAllocPointer(1);

        Session(long device, long function) {
            this.device = device;
            this.function = function;
            try (MemoryStack stack = MemoryStack.stackPush()) {
                IntBuffer err = stack.mallocInt(1);
                context = CL10.clCreateContext(stack.pointers(0), device, null, MemoryUtil.NULL, err);
                check(err.get(0), "clCreateContext");
                queue = CL10.clCreateCommandQueue(context, device, 0, err);
                check(err.get(0), "clCreateCommandQueue");
            }
            FFIType size = Pointer.POINTER_SIZE == 8 ? LibFFI.ffi_type_uint64 : LibFFI.ffi_type_uint32;
            FFIType[] types = {LibFFI.ffi_type_sint32, LibFFI.ffi_type_sint32, LibFFI.ffi_type_sint32, size, size, size,
                LibFFI.ffi_type_float, LibFFI.ffi_type_pointer, size, size, LibFFI.ffi_type_pointer, size, size,
                LibFFI.ffi_type_float, LibFFI.ffi_type_pointer, size, size, LibFFI.ffi_type_pointer, LibFFI.ffi_type_pointer};
            argTypes = MemoryUtil.memAllocPointer(types.length);
            for (int i = 0; i < types.length; i++) {
                argTypes.put(i, types[i]);
                argPointers.put(i, MemoryUtil.memAddress(argValues) + 8L * i);
            }
            int status = LibFFI.ffi_prep_cif(cif, LibFFI.FFI_DEFAULT_ABI, LibFFI.ffi_type_sint32, argTypes);
            if (status != LibFFI.FFI_OK) {
                throw new IllegalStateException("ffi_prep_cif failed: " + status);
            }
            queueSlot.put(0, queue);
        }

        String measure(int R, int N, int K, int warmup, int runs) {
            // the same inputs as gpu-infer's side (LinearGemmBenchmark, seed 11)
            float[] x = RandomTensors.gaussian(11, 0, R * K).data();  // [R, K]
            float[] w = RandomTensors.gaussian(11, 1, N * K).data();  // [N, K]
            long a = buffer(x);                                        // A = x [R, K]
            long b = buffer(w);                                        // B = W [N, K], used transposed
            long c = buffer(new float[R * N]);                         // C = y [R, N]
            try {
                for (int i = 0; i < warmup; i++) {
                    sgemm(R, N, K, a, b, c);
                    finish();
                }
                double[] ms = new double[runs];
                for (int i = 0; i < runs; i++) {
                    long start = System.nanoTime();
                    sgemm(R, N, K, a, b, c);
                    finish();
                    ms[i] = (System.nanoTime() - start) / 1e6;
                }
                float[] y = new float[R * N];
                FloatBuffer read = MemoryUtil.memAllocFloat(R * N);
                try {
                    check(CL10.clEnqueueReadBuffer(queue, c, true, 0, read, null, null), "clEnqueueReadBuffer");
                    read.get(y);
                } finally {
                    MemoryUtil.memFree(read);
                }
                double worst = PrefillGemm.worstError(x, w, y, R, N, K);
                StringBuilder runsText = new StringBuilder();
                for (double m : ms) {
                    runsText.append(runsText.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.6f", m));
                }
                return String.format(Locale.ROOT, "{\"R\": %d, \"N\": %d, \"K\": %d, \"runs_ms\": [%s], \"checked\": %d, "
                        + "\"worst_error\": %.6e}", R, N, K, runsText, Math.min(PrefillGemm.SAMPLES, R * N), worst);
            } finally {
                CL10.clReleaseMemObject(a);
                CL10.clReleaseMemObject(b);
                CL10.clReleaseMemObject(c);
            }
        }

        /** C[R, N] = A[R, K] · B[N, K]ᵀ, row-major. */
        private void sgemm(int R, int N, int K, long a, long b, long c) {
            argValues.putInt(0, LAYOUT_ROW_MAJOR);
            argValues.putInt(8, TRANSPOSE_NO);
            argValues.putInt(16, TRANSPOSE_YES);
            putSize(3, R);
            putSize(4, N);
            putSize(5, K);
            argValues.putFloat(6 * 8, 1f);
            argValues.putLong(7 * 8, a);
            putSize(8, 0);
            putSize(9, K);
            argValues.putLong(10 * 8, b);
            putSize(11, 0);
            putSize(12, K);
            argValues.putFloat(13 * 8, 0f);
            argValues.putLong(14 * 8, c);
            putSize(15, 0);
            putSize(16, N);
            argValues.putLong(17 * 8, MemoryUtil.memAddress(queueSlot));
            eventSlot.put(0, MemoryUtil.NULL);
            argValues.putLong(18 * 8, MemoryUtil.memAddress(eventSlot));
            LibFFI.ffi_call(cif, function, returned, argPointers);
            int status = returned.getInt(0);
            if (status != 0) {
                throw new IllegalStateException("CLBlastSgemm returned status " + status + " for m=" + R + " n=" + N + " k=" + K);
            }
            long event = eventSlot.get(0);
            if (event != MemoryUtil.NULL) {
                CL10.clReleaseEvent(event);
            }
        }

        private void putSize(int index, long value) {
            if (Pointer.POINTER_SIZE == 8) {
                argValues.putLong(index * 8, value);
            } else {
                argValues.putInt(index * 8, (int) value);
            }
        }

        private void finish() {
            check(CL10.clFinish(queue), "clFinish");
        }

        private long buffer(float[] data) {
            FloatBuffer host = MemoryUtil.memAllocFloat(data.length);
            try (MemoryStack stack = MemoryStack.stackPush()) {
                host.put(data).flip();
                IntBuffer err = stack.mallocInt(1);
                long mem = CL10.clCreateBuffer(context, CL10.CL_MEM_READ_WRITE | CL10.CL_MEM_COPY_HOST_PTR, host, err);
                check(err.get(0), "clCreateBuffer");
                return mem;
            } finally {
                MemoryUtil.memFree(host);
            }
        }

        @Override
        public void close() {
            CL10.clReleaseCommandQueue(queue);
            CL10.clReleaseContext(context);
            cif.free();
            MemoryUtil.memFree(argTypes);
            MemoryUtil.memFree(argValues);
            MemoryUtil.memFree(argPointers);
            MemoryUtil.memFree(returned);
            MemoryUtil.memFree(queueSlot);
            MemoryUtil.memFree(eventSlot);
        }
    }

    private static long[] platforms() {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer count = stack.mallocInt(1);
            check(CL10.clGetPlatformIDs(null, count), "clGetPlatformIDs");
            PointerBuffer ids = stack.mallocPointer(count.get(0));
            check(CL10.clGetPlatformIDs(ids, (IntBuffer) null), "clGetPlatformIDs");
            long[] result = new long[count.get(0)];
            for (int i = 0; i < result.length; i++) {
                result[i] = ids.get(i);
            }
            return result;
        }
    }

    private static long[] devices(long platform) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer count = stack.mallocInt(1);
            int status = CL10.clGetDeviceIDs(platform, CL10.CL_DEVICE_TYPE_ALL, null, count);
            if (status == CL10.CL_DEVICE_NOT_FOUND) {
                return new long[0];
            }
            check(status, "clGetDeviceIDs");
            PointerBuffer ids = stack.mallocPointer(count.get(0));
            check(CL10.clGetDeviceIDs(platform, CL10.CL_DEVICE_TYPE_ALL, ids, (IntBuffer) null), "clGetDeviceIDs");
            long[] result = new long[count.get(0)];
            for (int i = 0; i < result.length; i++) {
                result[i] = ids.get(i);
            }
            return result;
        }
    }

    private static String platformInfo(long platform, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer size = stack.mallocPointer(1);
            check(CL10.clGetPlatformInfo(platform, param, (ByteBuffer) null, size), "clGetPlatformInfo");
            ByteBuffer bytes = MemoryUtil.memAlloc((int) size.get(0));
            try {
                check(CL10.clGetPlatformInfo(platform, param, bytes, null), "clGetPlatformInfo");
                return text(bytes);
            } finally {
                MemoryUtil.memFree(bytes);
            }
        }
    }

    private static String deviceInfo(long device, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer size = stack.mallocPointer(1);
            check(CL10.clGetDeviceInfo(device, param, (ByteBuffer) null, size), "clGetDeviceInfo");
            ByteBuffer bytes = MemoryUtil.memAlloc((int) size.get(0));
            try {
                check(CL10.clGetDeviceInfo(device, param, bytes, null), "clGetDeviceInfo");
                return text(bytes);
            } finally {
                MemoryUtil.memFree(bytes);
            }
        }
    }

    /** A NUL-terminated string from OpenCL, trimmed as gpu-infer's bindings trim it. */
    private static String text(ByteBuffer bytes) {
        byte[] b = new byte[bytes.remaining()];
        bytes.get(b);
        int end = 0;
        while (end < b.length && b[end] != 0) {
            end++;
        }
        return new String(b, 0, end, StandardCharsets.UTF_8).trim();
    }

    private static void check(int status, String call) {
        if (status != CL10.CL_SUCCESS) {
            throw new IllegalStateException(call + " failed with OpenCL status " + status);
        }
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char ch : s.toCharArray()) {
            switch (ch) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (ch < 0x20) {
                        b.append(String.format(Locale.ROOT, "\\u%04x", (int) ch));
                    } else {
                        b.append(ch);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
