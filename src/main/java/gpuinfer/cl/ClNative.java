package gpuinfer.cl;

import java.nio.ByteBuffer;

/**
 * The raw OpenCL calls gpu-infer makes, implemented once per Java binding (LWJGL, JOCL). Everything above this
 * interface ({@link ClContext}, {@link ClQueue}, the ops) is shared and never knows which binding runs it.
 *
 * <p>Handles are opaque objects that only the binding interprets. Every method throws {@link ClException}, naming
 * the call, when OpenCL returns an error, except where a method says it returns the status instead.
 */
public interface ClNative {
    /** Short name used on the command line: {@code lwjgl} or {@code jocl}. */
    String name();

    /** The OpenCL library this binding loaded (a path or a name passed to the dynamic loader). */
    String libraryLoaded();

    /** All platform handles; empty when the ICD loader finds no platform (CL_PLATFORM_NOT_FOUND_KHR). */
    Object[] platformIds();

    String platformInfo(Object platform, int param);

    /** All device handles of a platform (any type); empty when it has none. */
    Object[] deviceIds(Object platform);

    /** The raw bytes of a device property in the host's byte order, positioned at 0. */
    ByteBuffer deviceInfo(Object device, int param);

    /**
     * clCreateSubDevices (OpenCL 1.2): the sub-devices {@code properties} (a cl_device_partition_property list ending
     * in 0, e.g. {CL_DEVICE_PARTITION_EQUALLY, 1, 0}) describe. Each is released as SUB_DEVICE (clReleaseDevice).
     */
    Object[] createSubDevices(Object device, long[] properties);

    Object createContext(Object device);

    Object createQueue(Object context, Object device, long properties);

    Object createBuffer(Object context, long flags, long bytes);

    /** A buffer over host memory (CL_MEM_USE_HOST_PTR in {@code flags}): {@code host} is a direct buffer, 0 to limit. */
    Object createBuffer(Object context, long flags, ByteBuffer host);

    /** Blocking write of {@code src} (a direct buffer, from 0 to its limit) at {@code offset} bytes. */
    void writeBuffer(Object queue, Object buffer, long offset, ByteBuffer src);

    /**
     * Non-blocking write of {@code src} (a direct buffer, from 0 to its limit) at {@code offset} bytes: the caller
     * keeps {@code src} unchanged until the queue has executed the write (a later blocking call on the queue).
     */
    void writeBufferAsync(Object queue, Object buffer, long offset, ByteBuffer src);

    /** A user event (clCreateUserEvent), complete only when {@link #completeUserEvent} says so; released as EVENT. */
    Object createUserEvent(Object context);

    /** Sets a user event's status to CL_COMPLETE. */
    void completeUserEvent(Object event);

    /** Enqueues a barrier that waits for {@code event} (clEnqueueBarrierWithWaitList, OpenCL 1.2). */
    void enqueueBarrier(Object queue, Object event);

    /** Blocking read into {@code dst} (a direct buffer, from 0 to its limit) from {@code offset} bytes. */
    void readBuffer(Object queue, Object buffer, long offset, ByteBuffer dst);

    /** Enqueues filling {@code bytes} bytes at {@code offset} with a 4-byte zero pattern (OpenCL 1.2). */
    void zeroBuffer(Object queue, Object buffer, long offset, long bytes);

    Object createProgramWithSource(Object context, String source);

    /** A program from a device binary; returns null when the driver rejects the binary (the caller rebuilds). */
    Object createProgramWithBinary(Object context, Object device, byte[] binary);

    /** Builds for one device and returns the OpenCL status instead of throwing, so the caller can read the log. */
    int buildProgram(Object program, Object device, String options);

    String programBuildLog(Object program, Object device);

    /** The device binary of a program built for exactly one device. */
    byte[] programBinary(Object program);

    Object createKernel(Object program, String name);

    /** CL_KERNEL_WORK_GROUP_SIZE: the largest work-group this kernel can run with on this device. */
    long kernelWorkGroupSize(Object kernel, Object device);

    /** CL_KERNEL_LOCAL_MEM_SIZE: the local memory the kernel itself declares (not counting __local arguments). */
    long kernelLocalMemSize(Object kernel, Object device);

    /** CL_KERNEL_PRIVATE_MEM_SIZE: the private memory one work-item of the kernel uses (spilled registers, arrays). */
    long kernelPrivateMemSize(Object kernel, Object device);

    /** CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE: work-group sizes should be multiples of this (warp, SIMD width). */
    long kernelPreferredWorkGroupSizeMultiple(Object kernel, Object device);

    /**
     * CL_KERNEL_COMPILE_WORK_GROUP_SIZE: the three sizes of the kernel's {@code reqd_work_group_size} attribute, or
     * three zeros when it has none.
     */
    long[] kernelCompileWorkGroupSize(Object kernel, Object device);

    /** A buffer argument; {@code buffer} null sets a NULL pointer. */
    void setArgBuffer(Object kernel, int index, Object buffer);

    void setArgInt(Object kernel, int index, int value);

    void setArgLong(Object kernel, int index, long value);

    void setArgFloat(Object kernel, int index, float value);

    /** A {@code __local} argument of {@code bytes} bytes. */
    void setArgLocal(Object kernel, int index, long bytes);

    /**
     * Enqueues an ND-range; {@code local} may be null. Returns the event when {@code wantEvent} is true, else null.
     */
    Object enqueueKernel(Object queue, Object kernel, long[] global, long[] local, boolean wantEvent);

    /**
     * Enqueues a device-side copy of {@code bytes} bytes between two buffers of one context (clEnqueueCopyBuffer).
     * Returns its event when {@code wantEvent} is true, else null.
     */
    Object copyBuffer(Object queue, Object src, Object dst, long srcOffset, long dstOffset, long bytes, boolean wantEvent);

    /**
     * Enqueues a marker (clEnqueueMarkerWithWaitList without a wait list, OpenCL 1.2) and returns its event, which
     * completes when every command enqueued before it on the queue has.
     */
    Object enqueueMarker(Object queue);

    void finish(Object queue);

    /** clFlush: submits the queue's commands to the device without waiting for them. */
    void flush(Object queue);

    /** CL_PROFILING_COMMAND_QUEUED / SUBMIT / START / END of a completed event, in device nanoseconds. */
    long eventProfilingInfo(Object event, int param);

    /** Releases a handle. Called exactly once per handle by {@link ClObject#close()}. */
    void release(ClObject.Kind kind, Object handle);
}
