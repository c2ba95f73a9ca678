package gpuinfer.cl.jocl;

import gpuinfer.cl.ClException;
import gpuinfer.cl.ClNative;
import gpuinfer.cl.ClObject;
import gpuinfer.cl.OpenClUnavailableException;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_device_partition_property;
import org.jocl.cl_event;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_platform_id;
import org.jocl.cl_program;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * {@link ClNative} over JOCL 2.0.5. Handles are JOCL's {@code cl_*} objects. JOCL finds the OpenCL library through
 * gpu-infer's {@code org.jocl.LibInitializer}, which tries the same candidates as the LWJGL binding.
 */
public final class JoclNative implements ClNative {
    private static final int CL_PROGRAM_BUILD_LOG = 0x1183;
    private static final int CL_PROGRAM_BINARY_SIZES = 0x1165;
    private static final int CL_PROGRAM_BINARIES = 0x1166;
    private static final int CL_KERNEL_WORK_GROUP_SIZE = 0x11B0;
    private static final int CL_KERNEL_COMPILE_WORK_GROUP_SIZE = 0x11B1;
    private static final int CL_KERNEL_LOCAL_MEM_SIZE = 0x11B2;
    private static final int CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE = 0x11B3;
    private static final int CL_KERNEL_PRIVATE_MEM_SIZE = 0x11B4;
    private static final long CL_DEVICE_TYPE_ALL = 0xFFFFFFFFL;
    private static final int CL_DEVICE_NOT_FOUND = -1;
    private static final int CL_PLATFORM_NOT_FOUND_KHR = -1001;

    private static volatile String loadedLibrary;
    private static volatile String loadFailures = "";

    private JoclNative() {
    }

    /** Called by gpu-infer's {@code org.jocl.LibInitializer} with the library JOCL loaded. */
    public static void recordLoaded(String library) {
        loadedLibrary = library;
    }

    /** Called by gpu-infer's {@code org.jocl.LibInitializer} with the candidates that failed. */
    public static void recordFailures(String failures) {
        loadFailures = failures;
    }

    public static synchronized JoclNative load() {
        try {
            CL.setExceptionsEnabled(false);
        } catch (Throwable failure) {
            throw new OpenClUnavailableException("The OpenCL library could not be loaded (JOCL binding): "
                    + failure + (loadFailures.isEmpty() ? "" : "\nTried:\n  " + loadFailures));
        }
        return new JoclNative();
    }

    @Override
    public String name() {
        return "jocl";
    }

    @Override
    public String libraryLoaded() {
        return loadedLibrary != null ? loadedLibrary : "libOpenCL (loaded by JOCL's own initializer)";
    }

    @Override
    public Object[] platformIds() {
        int[] count = new int[1];
        int status = CL.clGetPlatformIDs(0, null, count);
        if (status == CL_PLATFORM_NOT_FOUND_KHR || (status == 0 && count[0] == 0)) {
            return new Object[0];
        }
        ClException.check(status, "clGetPlatformIDs");
        cl_platform_id[] ids = new cl_platform_id[count[0]];
        ClException.check(CL.clGetPlatformIDs(ids.length, ids, null), "clGetPlatformIDs");
        return ids;
    }

    @Override
    public String platformInfo(Object platform, int param) {
        long[] size = new long[1];
        ClException.check(CL.clGetPlatformInfo((cl_platform_id) platform, param, 0, null, size), "clGetPlatformInfo");
        byte[] value = new byte[(int) size[0]];
        ClException.check(CL.clGetPlatformInfo((cl_platform_id) platform, param, value.length, Pointer.to(value), null),
                "clGetPlatformInfo");
        return cString(value);
    }

    @Override
    public Object[] deviceIds(Object platform) {
        int[] count = new int[1];
        int status = CL.clGetDeviceIDs((cl_platform_id) platform, CL_DEVICE_TYPE_ALL, 0, null, count);
        if (status == CL_DEVICE_NOT_FOUND || (status == 0 && count[0] == 0)) {
            return new Object[0];
        }
        ClException.check(status, "clGetDeviceIDs");
        cl_device_id[] ids = new cl_device_id[count[0]];
        ClException.check(CL.clGetDeviceIDs((cl_platform_id) platform, CL_DEVICE_TYPE_ALL, ids.length, ids, null),
                "clGetDeviceIDs");
        return ids;
    }

    @Override
    public ByteBuffer deviceInfo(Object device, int param) {
        long[] size = new long[1];
        ClException.check(CL.clGetDeviceInfo((cl_device_id) device, param, 0, null, size), "clGetDeviceInfo(" + param + ")");
        byte[] value = new byte[(int) size[0]];
        ClException.check(CL.clGetDeviceInfo((cl_device_id) device, param, value.length, Pointer.to(value), null),
                "clGetDeviceInfo(" + param + ")");
        return ByteBuffer.wrap(value).order(ByteOrder.nativeOrder());
    }

    @Override
    public Object[] createSubDevices(Object device, long[] properties) {
        // JOCL takes (name, value) pairs and appends the final 0 itself: pass the list without its terminator,
        // padded with a 0 to an even length (a 0 where a name is expected ends the list, so the pad is harmless).
        int length = properties.length - 1;
        long[] pairs = java.util.Arrays.copyOf(properties, length + (length % 2));
        cl_device_partition_property props = new cl_device_partition_property();
        for (int i = 0; i < pairs.length; i += 2) {
            props.addProperty(pairs[i], pairs[i + 1]);
        }
        int[] count = new int[1];
        ClException.check(CL.clCreateSubDevices((cl_device_id) device, props, 0, null, count), "clCreateSubDevices (count)");
        cl_device_id[] ids = new cl_device_id[count[0]];
        ClException.check(CL.clCreateSubDevices((cl_device_id) device, props, ids.length, ids, null), "clCreateSubDevices");
        return ids;
    }

    @Override
    public Object createContext(Object device) {
        int[] status = new int[1];
        cl_context context = CL.clCreateContext(null, 1, new cl_device_id[] {(cl_device_id) device}, null, null, status);
        ClException.check(status[0], "clCreateContext");
        return context;
    }

    @Override
    @SuppressWarnings("deprecation")
    public Object createQueue(Object context, Object device, long properties) {
        int[] status = new int[1];
        cl_command_queue queue = CL.clCreateCommandQueue((cl_context) context, (cl_device_id) device, properties, status);
        ClException.check(status[0], "clCreateCommandQueue");
        return queue;
    }

    @Override
    public Object createBuffer(Object context, long flags, long bytes) {
        int[] status = new int[1];
        cl_mem buffer = CL.clCreateBuffer((cl_context) context, flags, bytes, null, status);
        ClException.check(status[0], "clCreateBuffer(" + bytes + " bytes)");
        return buffer;
    }

    @Override
    public Object createBuffer(Object context, long flags, ByteBuffer host) {
        int[] status = new int[1];
        cl_mem buffer = CL.clCreateBuffer((cl_context) context, flags, host.remaining(), Pointer.to(host), status);
        ClException.check(status[0], "clCreateBuffer(" + host.remaining() + " bytes of host memory)");
        return buffer;
    }

    @Override
    public void writeBuffer(Object queue, Object buffer, long offset, ByteBuffer src) {
        ClException.check(CL.clEnqueueWriteBuffer((cl_command_queue) queue, (cl_mem) buffer, true, offset, src.remaining(),
                Pointer.to(src), 0, null, null), "clEnqueueWriteBuffer");
    }

    @Override
    public Object copyBuffer(Object queue, Object src, Object dst, long srcOffset, long dstOffset, long bytes,
                             boolean wantEvent) {
        cl_event event = wantEvent ? new cl_event() : null;
        ClException.check(CL.clEnqueueCopyBuffer((cl_command_queue) queue, (cl_mem) src, (cl_mem) dst, srcOffset, dstOffset,
                bytes, 0, null, event), "clEnqueueCopyBuffer");
        return event;
    }

    @Override
    public Object enqueueMarker(Object queue) {
        cl_event event = new cl_event();
        ClException.check(CL.clEnqueueMarkerWithWaitList((cl_command_queue) queue, 0, null, event),
                "clEnqueueMarkerWithWaitList");
        return event;
    }

    @Override
    public void writeBufferAsync(Object queue, Object buffer, long offset, ByteBuffer src) {
        ClException.check(CL.clEnqueueWriteBuffer((cl_command_queue) queue, (cl_mem) buffer, false, offset, src.remaining(),
                Pointer.to(src), 0, null, null), "clEnqueueWriteBuffer");
    }

    @Override
    public Object createUserEvent(Object context) {
        int[] status = new int[1];
        cl_event event = CL.clCreateUserEvent((cl_context) context, status);
        ClException.check(status[0], "clCreateUserEvent");
        return event;
    }

    @Override
    public void completeUserEvent(Object event) {
        ClException.check(CL.clSetUserEventStatus((cl_event) event, CL.CL_COMPLETE), "clSetUserEventStatus");
    }

    @Override
    public void enqueueBarrier(Object queue, Object event) {
        ClException.check(CL.clEnqueueBarrierWithWaitList((cl_command_queue) queue, 1, new cl_event[] {(cl_event) event}, null),
                "clEnqueueBarrierWithWaitList");
    }

    @Override
    public void readBuffer(Object queue, Object buffer, long offset, ByteBuffer dst) {
        ClException.check(CL.clEnqueueReadBuffer((cl_command_queue) queue, (cl_mem) buffer, true, offset, dst.remaining(),
                Pointer.to(dst), 0, null, null), "clEnqueueReadBuffer");
    }

    @Override
    public void zeroBuffer(Object queue, Object buffer, long offset, long bytes) {
        ClException.check(CL.clEnqueueFillBuffer((cl_command_queue) queue, (cl_mem) buffer, Pointer.to(new int[] {0}),
                Sizeof.cl_int, offset, bytes, 0, null, null), "clEnqueueFillBuffer");
    }

    @Override
    public Object createProgramWithSource(Object context, String source) {
        int[] status = new int[1];
        cl_program program = CL.clCreateProgramWithSource((cl_context) context, 1, new String[] {source}, null, status);
        ClException.check(status[0], "clCreateProgramWithSource");
        return program;
    }

    @Override
    public Object createProgramWithBinary(Object context, Object device, byte[] binary) {
        int[] binaryStatus = new int[1];
        int[] status = new int[1];
        cl_program program = CL.clCreateProgramWithBinary((cl_context) context, 1, new cl_device_id[] {(cl_device_id) device},
                new long[] {binary.length}, new byte[][] {binary}, binaryStatus, status);
        if (status[0] != 0 || binaryStatus[0] != 0) {
            if (program != null) {
                CL.clReleaseProgram(program);
            }
            return null;
        }
        return program;
    }

    @Override
    public int buildProgram(Object program, Object device, String options) {
        return CL.clBuildProgram((cl_program) program, 1, new cl_device_id[] {(cl_device_id) device}, options, null, null);
    }

    @Override
    public String programBuildLog(Object program, Object device) {
        long[] size = new long[1];
        ClException.check(CL.clGetProgramBuildInfo((cl_program) program, (cl_device_id) device, CL_PROGRAM_BUILD_LOG, 0,
                null, size), "clGetProgramBuildInfo");
        byte[] log = new byte[(int) size[0]];
        ClException.check(CL.clGetProgramBuildInfo((cl_program) program, (cl_device_id) device, CL_PROGRAM_BUILD_LOG,
                log.length, Pointer.to(log), null), "clGetProgramBuildInfo");
        return new String(log, StandardCharsets.UTF_8).replace("\0", "");
    }

    @Override
    public byte[] programBinary(Object program) {
        long[] sizes = new long[1];
        ClException.check(CL.clGetProgramInfo((cl_program) program, CL_PROGRAM_BINARY_SIZES, Sizeof.size_t,
                Pointer.to(sizes), null), "clGetProgramInfo");
        byte[] binary = new byte[(int) sizes[0]];
        if (binary.length == 0) {
            return binary;
        }
        ClException.check(CL.clGetProgramInfo((cl_program) program, CL_PROGRAM_BINARIES, Sizeof.POINTER,
                Pointer.to(Pointer.to(binary)), null), "clGetProgramInfo");
        return binary;
    }

    @Override
    public Object createKernel(Object program, String name) {
        int[] status = new int[1];
        cl_kernel kernel = CL.clCreateKernel((cl_program) program, name, status);
        ClException.check(status[0], "clCreateKernel(" + name + ")");
        return kernel;
    }

    @Override
    public long kernelWorkGroupSize(Object kernel, Object device) {
        return kernelInfo(kernel, device, CL_KERNEL_WORK_GROUP_SIZE, Sizeof.size_t, "CL_KERNEL_WORK_GROUP_SIZE");
    }

    @Override
    public long kernelLocalMemSize(Object kernel, Object device) {
        return kernelInfo(kernel, device, CL_KERNEL_LOCAL_MEM_SIZE, Sizeof.cl_ulong, "CL_KERNEL_LOCAL_MEM_SIZE");
    }

    @Override
    public long kernelPrivateMemSize(Object kernel, Object device) {
        return kernelInfo(kernel, device, CL_KERNEL_PRIVATE_MEM_SIZE, Sizeof.cl_ulong, "CL_KERNEL_PRIVATE_MEM_SIZE");
    }

    @Override
    public long kernelPreferredWorkGroupSizeMultiple(Object kernel, Object device) {
        return kernelInfo(kernel, device, CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE, Sizeof.size_t,
                "CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE");
    }

    /** A size_t or cl_ulong value ({@code bytes} wide) of clGetKernelWorkGroupInfo. */
    private static long kernelInfo(Object kernel, Object device, int param, int bytes, String name) {
        long[] value = new long[1];
        ClException.check(CL.clGetKernelWorkGroupInfo((cl_kernel) kernel, (cl_device_id) device, param, bytes,
                Pointer.to(value), null), "clGetKernelWorkGroupInfo(" + name + ")");
        return value[0];
    }

    @Override
    public long[] kernelCompileWorkGroupSize(Object kernel, Object device) {
        long[] sizes = new long[3];
        ClException.check(CL.clGetKernelWorkGroupInfo((cl_kernel) kernel, (cl_device_id) device,
                        CL_KERNEL_COMPILE_WORK_GROUP_SIZE, 3L * Sizeof.size_t, Pointer.to(sizes), null),
                "clGetKernelWorkGroupInfo(CL_KERNEL_COMPILE_WORK_GROUP_SIZE)");
        return sizes;
    }

    @Override
    public void setArgBuffer(Object kernel, int index, Object buffer) {
        // the specification allows a NULL arg_value for a buffer argument: the kernel sees a NULL pointer
        ClException.check(CL.clSetKernelArg((cl_kernel) kernel, index, Sizeof.cl_mem,
                        buffer == null ? null : Pointer.to((cl_mem) buffer)),
                "clSetKernelArg(" + index + ", buffer)");
    }

    @Override
    public void setArgInt(Object kernel, int index, int value) {
        ClException.check(CL.clSetKernelArg((cl_kernel) kernel, index, Sizeof.cl_int, Pointer.to(new int[] {value})),
                "clSetKernelArg(" + index + ", int)");
    }

    @Override
    public void setArgLong(Object kernel, int index, long value) {
        ClException.check(CL.clSetKernelArg((cl_kernel) kernel, index, Sizeof.cl_long, Pointer.to(new long[] {value})),
                "clSetKernelArg(" + index + ", long)");
    }

    @Override
    public void setArgFloat(Object kernel, int index, float value) {
        ClException.check(CL.clSetKernelArg((cl_kernel) kernel, index, Sizeof.cl_float, Pointer.to(new float[] {value})),
                "clSetKernelArg(" + index + ", float)");
    }

    @Override
    public void setArgLocal(Object kernel, int index, long bytes) {
        ClException.check(CL.clSetKernelArg((cl_kernel) kernel, index, bytes, null), "clSetKernelArg(" + index + ", local)");
    }

    @Override
    public Object enqueueKernel(Object queue, Object kernel, long[] global, long[] local, boolean wantEvent) {
        cl_event event = wantEvent ? new cl_event() : null;
        ClException.check(CL.clEnqueueNDRangeKernel((cl_command_queue) queue, (cl_kernel) kernel, global.length, null,
                global, local, 0, null, event), "clEnqueueNDRangeKernel");
        return event;
    }

    @Override
    public void finish(Object queue) {
        ClException.check(CL.clFinish((cl_command_queue) queue), "clFinish");
    }

    @Override
    public void flush(Object queue) {
        ClException.check(CL.clFlush((cl_command_queue) queue), "clFlush");
    }

    @Override
    public long eventProfilingInfo(Object event, int param) {
        long[] value = new long[1];
        ClException.check(CL.clGetEventProfilingInfo((cl_event) event, param, Sizeof.cl_ulong, Pointer.to(value), null),
                "clGetEventProfilingInfo");
        return value[0];
    }

    @Override
    public void release(ClObject.Kind kind, Object handle) {
        int status = switch (kind) {
            case CONTEXT -> CL.clReleaseContext((cl_context) handle);
            case QUEUE -> CL.clReleaseCommandQueue((cl_command_queue) handle);
            case BUFFER -> CL.clReleaseMemObject((cl_mem) handle);
            case PROGRAM -> CL.clReleaseProgram((cl_program) handle);
            case KERNEL -> CL.clReleaseKernel((cl_kernel) handle);
            case EVENT -> CL.clReleaseEvent((cl_event) handle);
            case SUB_DEVICE -> CL.clReleaseDevice((cl_device_id) handle);
        };
        ClException.check(status, "clRelease(" + kind + ")");
    }

    private static String cString(byte[] bytes) {
        int end = 0;
        while (end < bytes.length && bytes[end] != 0) {
            end++;
        }
        return new String(bytes, 0, end, StandardCharsets.UTF_8).trim();
    }
}
