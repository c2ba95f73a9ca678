package gpuinfer.cl;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import static gpuinfer.cl.ClConstants.*;

/**
 * The properties of one OpenCL device that gpu-infer reports and plans with.
 *
 * @param type                      gpu, cpu, accelerator, custom (or a combination joined by '+')
 * @param openclVersion             CL_DEVICE_VERSION, e.g. "OpenCL 3.0 PoCL ..."
 * @param openclCVersion            CL_DEVICE_OPENCL_C_VERSION, e.g. "OpenCL C 1.2 PoCL"
 * @param maxClockMHz               CL_DEVICE_MAX_CLOCK_FREQUENCY
 * @param localMemType              "local" (dedicated) or "global" (emulated in global memory)
 * @param preferredFloatVectorWidth CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT
 * @param nativeFloatVectorWidth    CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT
 * @param profilingTimerResolutionNs CL_DEVICE_PROFILING_TIMER_RESOLUTION
 */
public record DeviceInfo(
        String name,
        String vendor,
        String type,
        String driverVersion,
        String openclVersion,
        String openclCVersion,
        int computeUnits,
        int maxClockMHz,
        long globalMemBytes,
        long maxAllocBytes,
        long globalMemCacheBytes,
        long localMemBytes,
        String localMemType,
        long maxWorkGroupSize,
        long[] maxWorkItemSizes,
        boolean fp16,
        boolean fp64,
        int preferredFloatVectorWidth,
        int nativeFloatVectorWidth,
        long profilingTimerResolutionNs,
        List<String> extensions) {

    static DeviceInfo read(ClNative cl, Object device) {
        List<String> extensions = Arrays.stream(string(cl, device, CL_DEVICE_EXTENSIONS).split("\\s+"))
                .filter(s -> !s.isEmpty()).sorted().toList();
        boolean fp64 = extensions.contains("cl_khr_fp64") || readLong(cl.deviceInfo(device, CL_DEVICE_DOUBLE_FP_CONFIG)) != 0;
        return new DeviceInfo(
                string(cl, device, CL_DEVICE_NAME),
                string(cl, device, CL_DEVICE_VENDOR),
                typeName(readLong(cl.deviceInfo(device, CL_DEVICE_TYPE))),
                string(cl, device, CL_DRIVER_VERSION),
                string(cl, device, CL_DEVICE_VERSION),
                string(cl, device, CL_DEVICE_OPENCL_C_VERSION),
                (int) readLong(cl.deviceInfo(device, CL_DEVICE_MAX_COMPUTE_UNITS)),
                (int) readLong(cl.deviceInfo(device, CL_DEVICE_MAX_CLOCK_FREQUENCY)),
                readLong(cl.deviceInfo(device, CL_DEVICE_GLOBAL_MEM_SIZE)),
                readLong(cl.deviceInfo(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE)),
                readLong(cl.deviceInfo(device, CL_DEVICE_GLOBAL_MEM_CACHE_SIZE)),
                readLong(cl.deviceInfo(device, CL_DEVICE_LOCAL_MEM_SIZE)),
                readLong(cl.deviceInfo(device, CL_DEVICE_LOCAL_MEM_TYPE)) == CL_LOCAL ? "local" : "global",
                readLong(cl.deviceInfo(device, CL_DEVICE_MAX_WORK_GROUP_SIZE)),
                readSizeArray(cl.deviceInfo(device, CL_DEVICE_MAX_WORK_ITEM_SIZES)),
                extensions.contains("cl_khr_fp16"),
                fp64,
                (int) readLong(cl.deviceInfo(device, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT)),
                (int) readLong(cl.deviceInfo(device, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT)),
                readLong(cl.deviceInfo(device, CL_DEVICE_PROFILING_TIMER_RESOLUTION)),
                extensions);
    }

    public boolean isGpu() {
        return type.contains("gpu");
    }

    /**
     * Whether the device computes in the host's own memory (a CPU device): a buffer over host memory is then read in
     * place, with no copy. (Integrated GPUs report unified memory too, but may still copy or pin; they are not
     * counted here.)
     */
    public boolean sharesHostMemory() {
        return type.contains("cpu");
    }

    private static String string(ClNative cl, Object device, int param) {
        return decodeString(cl.deviceInfo(device, param));
    }

    /** A NUL-terminated char[] property as a Java string, trimmed. */
    static String decodeString(ByteBuffer bytes) {
        byte[] raw = new byte[bytes.remaining()];
        bytes.get(raw);
        int end = 0;
        while (end < raw.length && raw[end] != 0) {
            end++;
        }
        return new String(raw, 0, end, StandardCharsets.UTF_8).trim();
    }

    /** A cl_uint, cl_bool, cl_ulong, cl_bitfield or size_t property: its width is the returned size. */
    static long readLong(ByteBuffer bytes) {
        return switch (bytes.remaining()) {
            case 8 -> bytes.getLong(0);
            case 4 -> Integer.toUnsignedLong(bytes.getInt(0));
            default -> throw new IllegalStateException("unexpected device property size " + bytes.remaining());
        };
    }

    /** A size_t[] property (64-bit hosts: 8 bytes per entry). */
    static long[] readSizeArray(ByteBuffer bytes) {
        long[] values = new long[bytes.remaining() / 8];
        for (int i = 0; i < values.length; i++) {
            values[i] = bytes.getLong(i * 8);
        }
        return values;
    }

    static String typeName(long bits) {
        StringBuilder name = new StringBuilder();
        if ((bits & CL_DEVICE_TYPE_GPU) != 0) name.append("gpu+");
        if ((bits & CL_DEVICE_TYPE_CPU) != 0) name.append("cpu+");
        if ((bits & CL_DEVICE_TYPE_ACCELERATOR) != 0) name.append("accelerator+");
        if ((bits & CL_DEVICE_TYPE_CUSTOM) != 0) name.append("custom+");
        return name.length() == 0 ? "unknown" : name.substring(0, name.length() - 1);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof DeviceInfo d && name.equals(d.name) && driverVersion.equals(d.driverVersion)
                && vendor.equals(d.vendor) && Arrays.equals(maxWorkItemSizes, d.maxWorkItemSizes);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + driverVersion.hashCode();
    }

    @Override
    public String toString() {
        return name + " (" + vendor + ", " + type + ", " + openclVersion + ")";
    }
}
