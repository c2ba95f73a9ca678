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
 * <p>{@link #setBatching(boolean) Batching}: launches enqueued since the last blocking call wait behind a barrier on a
 * user event, and run when the next blocking call (a read, a blocking write, {@link #finish()}) opens it. On a CPU
 * device the host thread and the driver's worker threads share the cores: without the barrier, each launch the
 * host enqueues competes with the kernel running before it, and the device waits for the host between kernels
 * (measured on PoCL, 2 cores: about 0.9 ms of host time per launch of a 0.37 ms kernel, instead of 10 us). With it,
 * a forward step's hundred launches are enqueued in well under a millisecond while the device is idle, then run
 * back to back.
 *
 * <p>Not thread-safe.
 */
public final class ClQueue extends ClObject {
    private static final int STAGING_BYTES = 16 << 20;

    private final ClContext context;
    private ByteBuffer staging;
    private List<Launch> recording;
    private boolean batching;
    private ClEvent gate;
    /** Host memory of non-blocking writes, kept until a blocking call proves they executed. */
    private final List<ByteBuffer> inFlight = new ArrayList<>();

    private record Launch(ClKernel kernel, long[] global, long[] local, ClEvent event, Cost cost) {
    }

    ClQueue(ClContext context, Object handle, String label) {
        super(context.cl, handle, Kind.QUEUE, label);
        this.context = context;
    }

    public ClContext context() {
        return context;
    }

    /**
     * Whether launches are held back until the next blocking call (see the class comment). Turning it off opens a
     * held barrier.
     */
    public void setBatching(boolean on) {
        if (!on) {
            openGate();
        }
        batching = on;
    }

    /** Lets every command held behind the batching barrier run. */
    private void openGate() {
        if (gate != null) {
            ClEvent open = gate;
            gate = null;
            try {
                cl.completeUserEvent(open.handle);
            } finally {
                open.close();
            }
        }
    }

    /** Before a blocking call: the held commands must run, or the call would wait for them forever. */
    private void beforeBlocking() {
        openGate();
    }

    /**
     * Enqueues writing {@code src} (int32) to the start of {@code dst} without waiting: the values are copied to
     * memory the queue keeps until the next blocking call, so the caller may change {@code src} at once.
     */
    public void writeLater(ClBuffer dst, int[] src) {
        checkRange(dst, 0, src.length, 4);
        ByteBuffer copy = ByteBuffer.allocateDirect(4 * Math.max(1, src.length)).order(ByteOrder.nativeOrder());
        copy.asIntBuffer().put(src);
        copy.limit(4 * src.length);
        holdIfBatching();
        cl.writeBufferAsync(handle, dst.handle, 0, copy);
        inFlight.add(copy);
    }

    /**
     * Enqueues writing {@code src} (float32) to the start of {@code dst} without waiting, like
     * {@link #writeLater(ClBuffer, int[])}: the values are copied to memory the queue keeps until the next blocking call.
     */
    public void writeLater(ClBuffer dst, float[] src) {
        checkRange(dst, 0, src.length, 4);
        ByteBuffer copy = ByteBuffer.allocateDirect(4 * Math.max(1, src.length)).order(ByteOrder.nativeOrder());
        copy.asFloatBuffer().put(src);
        copy.limit(4 * src.length);
        holdIfBatching();
        cl.writeBufferAsync(handle, dst.handle, 0, copy);
        inFlight.add(copy);
    }

    /** With batching on, the first command after a blocking call is preceded by a barrier on a new user event. */
    private void holdIfBatching() {
        if (batching && gate == null) {
            ClEvent made = new ClEvent(cl, cl.createUserEvent(context.handle), "batching gate");
            try {
                cl.enqueueBarrier(handle, made.handle);
            } catch (RuntimeException e) {
                cl.completeUserEvent(made.handle);
                made.close();
                throw e;
            }
            gate = made;
        }
    }

    /** Uploads all of {@code src} to the start of {@code dst}. */
    public void write(ClBuffer dst, float[] src) {
        write(dst, 0, src, 0, src.length);
    }

    /** Uploads {@code count} floats from {@code src[from]} to float index {@code dstOffset} of {@code dst}; blocks. */
    public void write(ClBuffer dst, long dstOffset, float[] src, int from, int count) {
        checkRange(dst, dstOffset, count, 4);
        beforeBlocking();
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
        beforeBlocking();
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

    /**
     * Enqueues a copy of {@code bytes} bytes from {@code src} to {@code dst} on the device (both buffers of this
     * queue's context); does not wait.
     */
    public void copy(ClBuffer src, long srcOffset, ClBuffer dst, long dstOffset, long bytes) {
        checkCopy(src, srcOffset, dst, dstOffset, bytes);
        holdIfBatching();
        cl.copyBuffer(handle, src.handle, dst.handle, srcOffset, dstOffset, bytes, false);
    }

    private void checkCopy(ClBuffer src, long srcOffset, ClBuffer dst, long dstOffset, long bytes) {
        if (src.context() != context || dst.context() != context) {
            throw new IllegalArgumentException("copy: both buffers must belong to this queue's context ('" + src.label()
                    + "' -> '" + dst.label() + "'); between contexts, read and write through host memory");
        }
        checkRange(src, srcOffset, bytes, 1);
        checkRange(dst, dstOffset, bytes, 1);
    }

    /**
     * As {@link #copy}, returning the copy's event (its profiling times are readable once it completed); the caller
     * closes it.
     */
    public ClEvent copyWithEvent(ClBuffer src, long srcOffset, ClBuffer dst, long dstOffset, long bytes, String label) {
        checkCopy(src, srcOffset, dst, dstOffset, bytes);
        holdIfBatching();
        return new ClEvent(cl, cl.copyBuffer(handle, src.handle, dst.handle, srcOffset, dstOffset, bytes, true), label);
    }

    /**
     * Enqueues a marker and returns its event, complete when every command enqueued on this queue before it is:
     * another queue of the context can {@link #waitFor} it. The caller closes it.
     */
    public ClEvent marker(String label) {
        holdIfBatching();
        return new ClEvent(cl, cl.enqueueMarker(handle), label);
    }

    /**
     * Makes every command enqueued on this queue after this call wait for {@code event} (a barrier with a wait list),
     * without blocking the host: how one queue waits for another of the same context.
     */
    public void waitFor(ClEvent event) {
        holdIfBatching();
        cl.enqueueBarrier(handle, event.handle);
    }

    /** Uploads {@code src} (int32) to the start of {@code dst}; blocks. */
    public void write(ClBuffer dst, int[] src) {
        checkRange(dst, 0, src.length, 4);
        beforeBlocking();
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
        beforeBlocking();
        int done = 0;
        while (done < count) {
            int n = Math.min(count - done, STAGING_BYTES / 4);
            ByteBuffer chunk = staging(n * 4);
            cl.readBuffer(handle, src.handle, (srcOffset + done) * 4L, chunk);
            chunk.asFloatBuffer().get(dst, from + done, n);
            done += n;
        }
        inFlight.clear(); // a blocking read completes every earlier command
    }

    /** Enqueues setting every byte of {@code buffer} to zero. */
    public void zero(ClBuffer buffer) {
        holdIfBatching();
        cl.zeroBuffer(handle, buffer.handle, 0, buffer.bytes());
    }

    /**
     * Enqueues a kernel over {@code global} work-items in groups of {@code local} (null lets the driver choose).
     * Each global size must be a multiple of its local size, and {@code local} must be within the kernel's
     * {@link ClKernel#limits() limits} ({@link ClKernel#fits}): a larger work-group is refused before it is enqueued,
     * with CL_INVALID_WORK_GROUP_SIZE and both sizes.
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
        String refused = kernel.whyNot(local);
        if (refused != null) {
            // Checked here rather than left to clEnqueueNDRangeKernel: its CL_INVALID_WORK_GROUP_SIZE names neither
            // the limit nor the size asked for.
            throw new ClException(-54, "Launching kernel '" + kernel.name() + "' (options: "
                    + (kernel.program().options().isEmpty() ? "none" : kernel.program().options()) + ") with global "
                    + Arrays.toString(global) + ", local " + Arrays.toString(local) + " ("
                    + Arrays.stream(local).reduce(1, Math::multiplyExact) + " work-items per group) on '"
                    + context.device().name() + "' is refused: " + refused + ": " + ClErrors.name(-54) + ". Use a smaller work-group (e.g. a smaller --kernel-define WG=) or "
                    + "another variant of the kernel; ClKernel.fits(local) tells a caller beforehand.");
        }
        holdIfBatching();
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

    /**
     * Lets the commands enqueued so far start (opens the batching barrier) and submits them to the device, without
     * waiting: work on several queues runs side by side when each is flushed before the host blocks on one.
     */
    public void flush() {
        openGate();
        cl.flush(handle);
    }

    /** Blocks until every enqueued command has completed. */
    public void finish() {
        beforeBlocking();
        cl.finish(handle);
        inFlight.clear();
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
        openGate();
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
