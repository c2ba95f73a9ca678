package gpuinfer.cl;

import gpuinfer.util.Sizes;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import static gpuinfer.cl.ClConstants.CL_MEM_READ_WRITE;
import static gpuinfer.cl.ClConstants.CL_QUEUE_PROFILING_ENABLE;

/**
 * An OpenCL context on one device. It owns a profiling-enabled default {@link #queue()} and the programs it built
 * ({@link #program}); closing the context releases both. Buffers, kernels and extra queues belong to the caller,
 * who closes them (try-with-resources) before the context.
 *
 * <p>Not thread-safe: use one context per thread, or synchronise.
 */
public final class ClContext extends ClObject {
    private final ClDevice device;
    private final ProgramCache diskCache;
    private final ClQueue queue;
    private final Map<String, ClProgram> programs = new LinkedHashMap<>();
    private final List<BuildRecord> builds = new ArrayList<>();
    private final AtomicLong allocatedBytes = new AtomicLong();
    private final AtomicLong peakAllocatedBytes = new AtomicLong();

    /** How one program was obtained: built from source, loaded from the disk cache, or reused in memory. */
    public record BuildRecord(String source, String options, String origin, double millis) {
    }

    ClContext(ClNative cl, ClDevice device, ProgramCache diskCache) {
        super(cl, cl.createContext(device.handle), Kind.CONTEXT, device.name());
        this.device = device;
        this.diskCache = diskCache;
        ClQueue created;
        try {
            created = new ClQueue(this, cl.createQueue(handle, device.handle, CL_QUEUE_PROFILING_ENABLE), "default queue");
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        this.queue = created;
    }

    public ClDevice device() {
        return device;
    }

    /** Name of the binding that runs this context ("lwjgl" or "jocl"), for reports. */
    public String binding() {
        return cl.name();
    }

    /** The default queue: in order, profiling enabled, owned by the context. */
    public ClQueue queue() {
        return queue;
    }

    /** Another queue on this context's device; the caller closes it. */
    public ClQueue createQueue(String label) {
        checkOpen();
        return new ClQueue(this, cl.createQueue(handle, device.handle, CL_QUEUE_PROFILING_ENABLE), label);
    }

    /**
     * A read-write device buffer of {@code bytes} bytes, uninitialised; the caller closes it.
     *
     * @param label what it holds, with its shape, e.g. "q [B,H,Sq,D]": it appears in leak reports and errors
     * @throws DeviceMemoryException when the device cannot hold a buffer that large
     */
    public ClBuffer createBuffer(long bytes, String label) {
        checkOpen();
        if (bytes <= 0) {
            throw new IllegalArgumentException("buffer '" + label + "' must have a positive size, not " + bytes);
        }
        DeviceInfo info = device.info();
        if (bytes > info.maxAllocBytes()) {
            throw new DeviceMemoryException("Cannot allocate buffer '" + label + "' of " + Sizes.bytes(bytes) + " on '"
                    + info.name() + "': the device allows at most " + Sizes.bytes(info.maxAllocBytes())
                    + " per buffer (CL_DEVICE_MAX_MEM_ALLOC_SIZE; " + Sizes.bytes(info.globalMemBytes()) + " in all, "
                    + Sizes.bytes(allocatedBytes.get()) + " already in use by gpu-infer). Use a memory-lean --impl "
                    + "(flash), a smaller shape or batch, or another --device.");
        }
        ClBuffer buffer;
        try {
            buffer = new ClBuffer(this, cl.createBuffer(handle, CL_MEM_READ_WRITE, bytes), label, bytes);
        } catch (ClException e) {
            throw new ClException(e.status(), "Allocating buffer '" + label + "' of " + Sizes.bytes(bytes) + " on '"
                    + info.name() + "' (" + Sizes.bytes(allocatedBytes.get()) + " already in use): " + e.getMessage());
        }
        long now = allocatedBytes.addAndGet(bytes);
        peakAllocatedBytes.accumulateAndGet(now, Math::max);
        return buffer;
    }

    /**
     * A read-only buffer that is {@code host} itself (CL_MEM_USE_HOST_PTR), for devices that share the host's memory
     * ({@link DeviceInfo#sharesHostMemory()}): a memory-mapped weight file is then read by the kernels where it lies,
     * with no copy and no second resident copy. {@code host} (a direct buffer, from its position to its limit) must
     * not change while the buffer exists; the buffer keeps it reachable.
     */
    public ClBuffer wrapHostMemory(java.nio.ByteBuffer host, String label) {
        checkOpen();
        if (!host.isDirect()) {
            throw new IllegalArgumentException("buffer '" + label + "': only direct (or mapped) memory can be wrapped");
        }
        java.nio.ByteBuffer region = host.slice();
        long bytes = region.remaining();
        if (bytes <= 0) {
            throw new IllegalArgumentException("buffer '" + label + "' must have a positive size, not " + bytes);
        }
        ClBuffer buffer = new ClBuffer(this, cl.createBuffer(handle, ClConstants.CL_MEM_READ_ONLY | ClConstants.CL_MEM_USE_HOST_PTR,
                region), label, bytes, region);
        long now = allocatedBytes.addAndGet(bytes);
        peakAllocatedBytes.accumulateAndGet(now, Math::max);
        return buffer;
    }

    /** A buffer holding {@code data}, uploaded through the default queue. */
    public ClBuffer createBuffer(float[] data, String label) {
        ClBuffer buffer = createBuffer(4L * Math.max(1, data.length), label);
        try {
            queue.write(buffer, data);
        } catch (RuntimeException e) {
            buffer.close();
            throw e;
        }
        return buffer;
    }

    void bufferReleased(long bytes) {
        allocatedBytes.addAndGet(-bytes);
    }

    /** Device memory held by this context's open buffers now. */
    public long allocatedBytes() {
        return allocatedBytes.get();
    }

    /** The most device memory this context's buffers held at once. */
    public long peakAllocatedBytes() {
        return peakAllocatedBytes.get();
    }

    /**
     * The program built from {@code source} with {@code options} (e.g. "-DTILE=16"), owned by this context: reused
     * from memory when built before in this context, else loaded from the disk cache, else built from source.
     *
     * @throws KernelBuildException with the device, the options and the full build log when the build fails
     */
    public ClProgram program(KernelSource source, String options) {
        checkOpen();
        String opts = options == null ? "" : options.trim();
        String memoryKey = source.sha256() + "\n" + opts;
        ClProgram cached = programs.get(memoryKey);
        if (cached != null) {
            builds.add(new BuildRecord(source.name(), opts, "memory", 0));
            return cached;
        }
        long start = System.nanoTime();
        String diskKey = ProgramCache.key(device, source, opts);
        ClProgram program = diskCache.load(diskKey, source).map(binary -> fromBinary(source, opts, binary)).orElse(null);
        String origin = "disk cache";
        if (program == null) {
            program = fromSource(source, opts);
            origin = "built";
            diskCache.store(diskKey, source, cl.programBinary(program.handle));
        }
        builds.add(new BuildRecord(source.name(), opts, origin, (System.nanoTime() - start) / 1e6));
        programs.put(memoryKey, program);
        return program;
    }

    /** Every program request so far, in order, with where the program came from and how long it took. */
    public List<BuildRecord> builds() {
        return Collections.unmodifiableList(builds);
    }

    private ClProgram fromBinary(KernelSource source, String options, byte[] binary) {
        Object programHandle = cl.createProgramWithBinary(handle, device.handle, binary);
        if (programHandle == null) {
            return null;
        }
        ClProgram program = new ClProgram(this, programHandle, source, options);
        if (cl.buildProgram(programHandle, device.handle, options) != 0) {
            program.close();
            return null;
        }
        return program;
    }

    private ClProgram fromSource(KernelSource source, String options) {
        ClProgram program = new ClProgram(this, cl.createProgramWithSource(handle, source.text()), source, options);
        int status = cl.buildProgram(program.handle, device.handle, options);
        if (status != 0) {
            String log;
            try {
                log = cl.programBuildLog(program.handle, device.handle);
            } catch (RuntimeException e) {
                log = "(the build log could not be read: " + e.getMessage() + ")";
            }
            program.close();
            throw new KernelBuildException(status, source.name(), device.name(), options, log);
        }
        return program;
    }

    @Override
    void beforeRelease() {
        for (ClProgram program : programs.values()) {
            program.close();
        }
        programs.clear();
        if (queue != null) {
            queue.close();
        }
    }
}
