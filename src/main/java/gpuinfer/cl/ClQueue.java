package gpuinfer.cl;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * An in-order command queue with profiling enabled. Transfers between Java arrays and device buffers go through
 * one reusable direct staging buffer, in chunks. When {@link #startRecording() recording}, every launch keeps its
 * event; {@link #stopRecording()} waits, reads the events' times and releases them.
 *
 * <p>Not thread-safe.
 */
public final class ClQueue extends ClObject {
    private static final int STAGING_BYTES = 16 << 20;

    private final ClContext context;
    private ByteBuffer staging;
    private List<Launch> recording;

    private record Launch(ClKernel kernel, long[] global, long[] local, ClEvent event, Cost cost) {
    }

    ClQueue(ClContext context, Object handle, String label) {
        super(context.cl, handle, Kind.QUEUE, label);
        this.context = context;
    }

    public ClContext context() {
        return context;
    }

    /** Uploads all of {@code src} to the start of {@code dst}. */
    public void write(ClBuffer dst, float[] src) {
        write(dst, 0, src, 0, src.length);
    }

    /** Uploads {@code count} floats from {@code src[from]} to float index {@code dstOffset} of {@code dst}; blocks. */
    public void write(ClBuffer dst, long dstOffset, float[] src, int from, int count) {
        checkRange(dst, dstOffset, count, 4);
        int done = 0;
        while (done < count) {
            int n = Math.min(count - done, STAGING_BYTES / 4);
            ByteBuffer chunk = staging(n * 4);
            chunk.asFloatBuffer().put(src, from + done, n);
            cl.writeBuffer(handle, dst.handle, (dstOffset + done) * 4L, chunk);
            done += n;
        }
    }

    /**
     * Uploads the bytes of {@code src} from its position to its limit to byte {@code dstOffset} of {@code dst};
     * blocks. A direct buffer (a memory-mapped file's, for one) is handed to OpenCL as it is, in chunks; a heap
     * buffer goes through the staging buffer.
     */
    public void write(ClBuffer dst, long dstOffset, ByteBuffer src) {
        long count = src.remaining();
        checkRange(dst, dstOffset, count, 1);
        for (long done = 0; done < count; ) {
            int n = (int) Math.min(count - done, STAGING_BYTES);
            ByteBuffer chunk;
            if (src.isDirect()) {
                chunk = src.slice(src.position() + (int) done, n);
            } else {
                chunk = staging(n);
                chunk.put(0, src, src.position() + (int) done, n);
            }
            cl.writeBuffer(handle, dst.handle, dstOffset + done, chunk);
            done += n;
        }
    }

    /** Uploads {@code src} (int32) to the start of {@code dst}; blocks. */
    public void write(ClBuffer dst, int[] src) {
        checkRange(dst, 0, src.length, 4);
        int done = 0;
        while (done < src.length) {
            int n = Math.min(src.length - done, STAGING_BYTES / 4);
            ByteBuffer chunk = staging(n * 4);
            chunk.asIntBuffer().put(src, done, n);
            cl.writeBuffer(handle, dst.handle, done * 4L, chunk);
            done += n;
        }
    }

    /** Downloads the start of {@code src} into all of {@code dst}. */
    public void read(ClBuffer src, float[] dst) {
        read(src, 0, dst, 0, dst.length);
    }

    /** Downloads {@code count} floats from float index {@code srcOffset} of {@code src} into {@code dst[from]}; blocks. */
    public void read(ClBuffer src, long srcOffset, float[] dst, int from, int count) {
        checkRange(src, srcOffset, count, 4);
        int done = 0;
        while (done < count) {
            int n = Math.min(count - done, STAGING_BYTES / 4);
            ByteBuffer chunk = staging(n * 4);
            cl.readBuffer(handle, src.handle, (srcOffset + done) * 4L, chunk);
            chunk.asFloatBuffer().get(dst, from + done, n);
            done += n;
        }
    }

    /** Enqueues setting every byte of {@code buffer} to zero. */
    public void zero(ClBuffer buffer) {
        cl.zeroBuffer(handle, buffer.handle, 0, buffer.bytes());
    }

    /**
     * Enqueues a kernel over {@code global} work-items in groups of {@code local} (null lets the driver choose).
     * Each global size must be a multiple of its local size.
     */
    public void launch(ClKernel kernel, long[] global, long[] local) {
        launch(kernel, global, local, Cost.UNKNOWN);
    }

    /** As {@link #launch(ClKernel, long[], long[])}, with the launch's work for profiles. */
    public void launch(ClKernel kernel, long[] global, long[] local, Cost cost) {
        gpuinfer.util.Interruption.check();
        if (global.length < 1 || global.length > 3 || (local != null && local.length != global.length)) {
            throw new IllegalArgumentException("kernel " + kernel.name() + ": bad work sizes " + Arrays.toString(global)
                    + " / " + Arrays.toString(local));
        }
        for (int i = 0; local != null && i < global.length; i++) {
            if (local[i] <= 0 || global[i] % local[i] != 0) {
                throw new IllegalArgumentException("kernel " + kernel.name() + ": global size " + Arrays.toString(global)
                        + " is not a multiple of the work-group size " + Arrays.toString(local));
            }
        }
        long localBytes = kernel.localMemoryBytes();
        long deviceLocal = context.device().info().localMemBytes();
        if (localBytes > deviceLocal) {
            throw new ClException(-5, "Launching kernel '" + kernel.name() + "' (options: "
                    + (kernel.program().options().isEmpty() ? "none" : kernel.program().options()) + ") with global "
                    + Arrays.toString(global) + " would need " + gpuinfer.util.Sizes.bytes(localBytes) + " of local memory; '"
                    + context.device().name() + "' has " + gpuinfer.util.Sizes.bytes(deviceLocal) + ": "
                    + ClErrors.name(-5) + ". Use smaller tiles (e.g. --kernel-define KT=32) or another --device.");
        }
        boolean record = recording != null;
        Object event;
        try {
            event = cl.enqueueKernel(handle, kernel.handle, global, local, record);
        } catch (ClException e) {
            throw new ClException(e.status(), "Launching kernel '" + kernel.name() + "' (options: "
                    + (kernel.program().options().isEmpty() ? "none" : kernel.program().options()) + ") with global "
                    + Arrays.toString(global) + ", local " + (local == null ? "auto" : Arrays.toString(local)) + " on '"
                    + context.device().name() + "': " + e.getMessage());
        }
        if (record) {
            recording.add(new Launch(kernel, global.clone(), local == null ? null : local.clone(),
                    new ClEvent(cl, event, kernel.name()), cost));
        }
    }

    /** Blocks until every enqueued command has completed. */
    public void finish() {
        cl.finish(handle);
    }

    /** Whether launches are being recorded. */
    public boolean isRecording() {
        return recording != null;
    }

    /** From now on keep every launch's event, until {@link #stopRecording()}. */
    public void startRecording() {
        if (recording != null) {
            throw new IllegalStateException("queue '" + label() + "' is already recording");
        }
        recording = new ArrayList<>();
    }

    /** Waits for the queue, returns the recorded launches' device times in launch order, and releases their events. */
    public List<KernelTiming> stopRecording() {
        List<Launch> launches = recording;
        recording = null;
        if (launches == null) {
            return List.of();
        }
        List<KernelTiming> timings = new ArrayList<>(launches.size());
        try {
            finish();
            for (Launch launch : launches) {
                ClEvent e = launch.event();
                timings.add(new KernelTiming(launch.kernel().name(), launch.kernel().program().options(), launch.global(),
                        launch.local(), e.queuedNs(), e.submitNs(), e.startNs(), e.endNs(), launch.cost()));
            }
        } finally {
            for (Launch launch : launches) {
                launch.event().close();
            }
        }
        return timings;
    }

    @Override
    void beforeRelease() {
        if (recording != null) {
            for (Launch launch : recording) {
                launch.event().close();
            }
            recording = null;
        }
    }

    private ByteBuffer staging(int bytes) {
        if (staging == null || staging.capacity() < bytes) {
            staging = ByteBuffer.allocateDirect(Math.max(bytes, Math.min(STAGING_BYTES, 1 << 20))).order(ByteOrder.nativeOrder());
        }
        return staging.duplicate().clear().limit(bytes).slice().order(ByteOrder.nativeOrder());
    }

    private static void checkRange(ClBuffer buffer, long offset, long count, int elementBytes) {
        if (offset < 0 || count < 0 || (offset + count) * elementBytes > buffer.bytes()) {
            throw new IllegalArgumentException("transfer of " + count + " elements at " + offset + " does not fit buffer '"
                    + buffer.label() + "' of " + buffer.bytes() + " bytes");
        }
    }
}
