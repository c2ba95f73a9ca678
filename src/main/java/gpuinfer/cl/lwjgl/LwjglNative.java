package gpuinfer.cl.lwjgl;

import gpuinfer.cl.ClException;
import gpuinfer.cl.ClNative;
import gpuinfer.cl.ClObject;
import gpuinfer.cl.OpenClLibrary;
import gpuinfer.cl.OpenClUnavailableException;
import org.lwjgl.PointerBuffer;
import org.lwjgl.opencl.CL;
import org.lwjgl.opencl.CL10;
import org.lwjgl.opencl.CL12;
import org.lwjgl.system.Configuration;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.system.MemoryUtil;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** {@link ClNative} over LWJGL 3 (the default binding). Handles are {@code Long} pointers. */
public final class LwjglNative implements ClNative {
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

    private final String library;

    private LwjglNative(String library) {
        this.library = library;
    }

    /**
     * Loads the OpenCL library through LWJGL, trying {@link OpenClLibrary#candidates()} in order. LWJGL's CL class
     * would otherwise load "libOpenCL.so" in its static initialiser, once, and fail where only libOpenCL.so.1 exists.
     */
    public static synchronized LwjglNative load() {
        Configuration.OPENCL_EXPLICIT_INIT.set(true);
        List<String> tried = new ArrayList<>();
        for (String candidate : OpenClLibrary.candidates()) {
            try {
                CL.create(candidate);
                return new LwjglNative(candidate);
            } catch (IllegalStateException alreadyCreated) {
                // CL was created earlier in this process (another LwjglNative instance): reuse it.
                return new LwjglNative(candidate);
            } catch (Throwable failure) {
                tried.add(candidate + " (" + failure.getMessage() + ")");
            }
        }
        throw new OpenClUnavailableException("The OpenCL library could not be loaded (LWJGL binding). Tried:\n  "
                + String.join("\n  ", tried));
    }

    private static long h(Object handle) {
        return (Long) handle;
    }

    @Override
    public String name() {
        return "lwjgl";
    }

    @Override
    public String libraryLoaded() {
        return library;
    }

    @Override
    public Object[] platformIds() {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer count = stack.mallocInt(1);
            int status = CL10.clGetPlatformIDs(null, count);
            if (status == CL_PLATFORM_NOT_FOUND_KHR || (status == 0 && count.get(0) == 0)) {
                return new Object[0];
            }
            ClException.check(status, "clGetPlatformIDs");
            PointerBuffer ids = stack.mallocPointer(count.get(0));
            ClException.check(CL10.clGetPlatformIDs(ids, (IntBuffer) null), "clGetPlatformIDs");
            return boxAll(ids);
        }
    }

    @Override
    public String platformInfo(Object platform, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer size = stack.mallocPointer(1);
            ClException.check(CL10.clGetPlatformInfo(h(platform), param, (ByteBuffer) null, size), "clGetPlatformInfo");
            ByteBuffer value = stack.malloc((int) size.get(0));
            ClException.check(CL10.clGetPlatformInfo(h(platform), param, value, null), "clGetPlatformInfo");
            return MemoryUtil.memUTF8(value, Math.max(0, value.remaining() - 1)).trim();
        }
    }

    @Override
    public Object[] deviceIds(Object platform) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer count = stack.mallocInt(1);
            int status = CL10.clGetDeviceIDs(h(platform), CL_DEVICE_TYPE_ALL, null, count);
            if (status == CL_DEVICE_NOT_FOUND || (status == 0 && count.get(0) == 0)) {
                return new Object[0];
            }
            ClException.check(status, "clGetDeviceIDs");
            PointerBuffer ids = stack.mallocPointer(count.get(0));
            ClException.check(CL10.clGetDeviceIDs(h(platform), CL_DEVICE_TYPE_ALL, ids, (IntBuffer) null), "clGetDeviceIDs");
            return boxAll(ids);
        }
    }

    @Override
    public ByteBuffer deviceInfo(Object device, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer size = stack.mallocPointer(1);
            ClException.check(CL10.clGetDeviceInfo(h(device), param, (ByteBuffer) null, size), "clGetDeviceInfo(" + param + ")");
            ByteBuffer value = ByteBuffer.allocateDirect((int) size.get(0)).order(ByteOrder.nativeOrder());
            ClException.check(CL10.clGetDeviceInfo(h(device), param, value, null), "clGetDeviceInfo(" + param + ")");
            return value;
        }
    }

    @Override
    public Object[] createSubDevices(Object device, long[] properties) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer props = stack.mallocPointer(properties.length);
            for (long p : properties) {
                props.put(p);
            }
            props.flip();
            IntBuffer count = stack.mallocInt(1);
            ClException.check(CL12.clCreateSubDevices(h(device), props, null, count), "clCreateSubDevices (count)");
            PointerBuffer ids = stack.mallocPointer(count.get(0));
            ClException.check(CL12.clCreateSubDevices(h(device), props, ids, (IntBuffer) null), "clCreateSubDevices");
            return boxAll(ids);
        }
    }

    @Override
    public Object createContext(Object device) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer status = stack.mallocInt(1);
            long context = CL10.clCreateContext(null, h(device), null, 0, status);
            ClException.check(status.get(0), "clCreateContext");
            return context;
        }
    }

    @Override
    public Object createQueue(Object context, Object device, long properties) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer status = stack.mallocInt(1);
            long queue = CL10.clCreateCommandQueue(h(context), h(device), properties, status);
            ClException.check(status.get(0), "clCreateCommandQueue");
            return queue;
        }
    }

    @Override
    public Object createBuffer(Object context, long flags, long bytes) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer status = stack.mallocInt(1);
            long buffer = CL10.clCreateBuffer(h(context), flags, bytes, status);
            ClException.check(status.get(0), "clCreateBuffer(" + bytes + " bytes)");
            return buffer;
        }
    }

    @Override
    public Object createBuffer(Object context, long flags, ByteBuffer host) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer status = stack.mallocInt(1);
            long buffer = CL10.clCreateBuffer(h(context), flags, host, status);
            ClException.check(status.get(0), "clCreateBuffer(" + host.remaining() + " bytes of host memory)");
            return buffer;
        }
    }

    @Override
    public void writeBuffer(Object queue, Object buffer, long offset, ByteBuffer src) {
        ClException.check(CL10.clEnqueueWriteBuffer(h(queue), h(buffer), true, offset, src, null, null), "clEnqueueWriteBuffer");
    }

    @Override
    public Object copyBuffer(Object queue, Object src, Object dst, long srcOffset, long dstOffset, long bytes,
                             boolean wantEvent) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer event = wantEvent ? stack.mallocPointer(1) : null;
            ClException.check(CL10.clEnqueueCopyBuffer(h(queue), h(src), h(dst), srcOffset, dstOffset, bytes, null, event),
                    "clEnqueueCopyBuffer");
            return wantEvent ? event.get(0) : null;
        }
    }

    @Override
    public Object enqueueMarker(Object queue) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer event = stack.mallocPointer(1);
            ClException.check(CL12.clEnqueueMarkerWithWaitList(h(queue), null, event), "clEnqueueMarkerWithWaitList");
            return event.get(0);
        }
    }

    @Override
    public void writeBufferAsync(Object queue, Object buffer, long offset, ByteBuffer src) {
        ClException.check(CL10.clEnqueueWriteBuffer(h(queue), h(buffer), false, offset, src, null, null), "clEnqueueWriteBuffer");
    }

    @Override
    public Object createUserEvent(Object context) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer status = stack.mallocInt(1);
            long event = org.lwjgl.opencl.CL11.clCreateUserEvent(h(context), status);
            ClException.check(status.get(0), "clCreateUserEvent");
            return event;
        }
    }

    @Override
    public void completeUserEvent(Object event) {
        ClException.check(org.lwjgl.opencl.CL11.clSetUserEventStatus(h(event), CL10.CL_COMPLETE), "clSetUserEventStatus");
    }

    @Override
    public void enqueueBarrier(Object queue, Object event) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer wait = stack.mallocPointer(1).put(0, h(event));
            ClException.check(CL12.clEnqueueBarrierWithWaitList(h(queue), wait, null), "clEnqueueBarrierWithWaitList");
        }
    }

    @Override
    public void readBuffer(Object queue, Object buffer, long offset, ByteBuffer dst) {
        ClException.check(CL10.clEnqueueReadBuffer(h(queue), h(buffer), true, offset, dst, null, null), "clEnqueueReadBuffer");
    }

    @Override
    public void zeroBuffer(Object queue, Object buffer, long offset, long bytes) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            ByteBuffer pattern = stack.calloc(4);
            ClException.check(CL12.clEnqueueFillBuffer(h(queue), h(buffer), pattern, offset, bytes, null, null), "clEnqueueFillBuffer");
        }
    }

    @Override
    public Object createProgramWithSource(Object context, String source) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer status = stack.mallocInt(1);
            long program = CL10.clCreateProgramWithSource(h(context), source, status);
            ClException.check(status.get(0), "clCreateProgramWithSource");
            return program;
        }
    }

    @Override
    public Object createProgramWithBinary(Object context, Object device, byte[] binary) {
        ByteBuffer bytes = MemoryUtil.memAlloc(binary.length);
        try (MemoryStack stack = MemoryStack.stackPush()) {
            bytes.put(binary).flip();
            IntBuffer binaryStatus = stack.mallocInt(1);
            IntBuffer status = stack.mallocInt(1);
            long program = CL10.clCreateProgramWithBinary(h(context), stack.pointers(h(device)), bytes, binaryStatus, status);
            if (status.get(0) != 0 || binaryStatus.get(0) != 0) {
                if (program != 0) {
                    CL10.clReleaseProgram(program);
                }
                return null;
            }
            return program;
        } finally {
            MemoryUtil.memFree(bytes);
        }
    }

    @Override
    public int buildProgram(Object program, Object device, String options) {
        return CL10.clBuildProgram(h(program), h(device), options, null, 0);
    }

    @Override
    public String programBuildLog(Object program, Object device) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer size = stack.mallocPointer(1);
            ClException.check(CL10.clGetProgramBuildInfo(h(program), h(device), CL_PROGRAM_BUILD_LOG, (ByteBuffer) null, size),
                    "clGetProgramBuildInfo");
            ByteBuffer log = MemoryUtil.memAlloc((int) size.get(0));
            try {
                ClException.check(CL10.clGetProgramBuildInfo(h(program), h(device), CL_PROGRAM_BUILD_LOG, log, null),
                        "clGetProgramBuildInfo");
                byte[] bytes = new byte[log.remaining()];
                log.get(bytes);
                return new String(bytes, StandardCharsets.UTF_8).replace("\0", "");
            } finally {
                MemoryUtil.memFree(log);
            }
        }
    }

    @Override
    public byte[] programBinary(Object program) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer sizes = stack.mallocPointer(1);
            ClException.check(CL10.clGetProgramInfo(h(program), CL_PROGRAM_BINARY_SIZES, sizes, null), "clGetProgramInfo");
            int size = (int) sizes.get(0);
            if (size == 0) {
                return new byte[0];
            }
            ByteBuffer binary = MemoryUtil.memAlloc(size);
            try {
                PointerBuffer pointers = stack.pointers(binary);
                ClException.check(CL10.clGetProgramInfo(h(program), CL_PROGRAM_BINARIES, pointers, null), "clGetProgramInfo");
                byte[] bytes = new byte[size];
                binary.get(bytes);
                return bytes;
            } finally {
                MemoryUtil.memFree(binary);
            }
        }
    }

    @Override
    public Object createKernel(Object program, String name) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer status = stack.mallocInt(1);
            long kernel = CL10.clCreateKernel(h(program), name, status);
            ClException.check(status.get(0), "clCreateKernel(" + name + ")");
            return kernel;
        }
    }

    @Override
    public long kernelWorkGroupSize(Object kernel, Object device) {
        return kernelSizeInfo(kernel, device, CL_KERNEL_WORK_GROUP_SIZE, "CL_KERNEL_WORK_GROUP_SIZE");
    }

    @Override
    public long kernelLocalMemSize(Object kernel, Object device) {
        return kernelUlongInfo(kernel, device, CL_KERNEL_LOCAL_MEM_SIZE, "CL_KERNEL_LOCAL_MEM_SIZE");
    }

    @Override
    public long kernelPrivateMemSize(Object kernel, Object device) {
        return kernelUlongInfo(kernel, device, CL_KERNEL_PRIVATE_MEM_SIZE, "CL_KERNEL_PRIVATE_MEM_SIZE");
    }

    @Override
    public long kernelPreferredWorkGroupSizeMultiple(Object kernel, Object device) {
        return kernelSizeInfo(kernel, device, CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE,
                "CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE");
    }

    /** A size_t value of clGetKernelWorkGroupInfo. */
    private static long kernelSizeInfo(Object kernel, Object device, int param, String name) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer value = stack.mallocPointer(1);
            ClException.check(CL10.clGetKernelWorkGroupInfo(h(kernel), h(device), param, value, null),
                    "clGetKernelWorkGroupInfo(" + name + ")");
            return value.get(0);
        }
    }

    /** A cl_ulong value of clGetKernelWorkGroupInfo. */
    private static long kernelUlongInfo(Object kernel, Object device, int param, String name) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            LongBuffer value = stack.mallocLong(1);
            ClException.check(CL10.clGetKernelWorkGroupInfo(h(kernel), h(device), param, value, null),
                    "clGetKernelWorkGroupInfo(" + name + ")");
            return value.get(0);
        }
    }

    @Override
    public long[] kernelCompileWorkGroupSize(Object kernel, Object device) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer sizes = stack.callocPointer(3);
            ClException.check(CL10.clGetKernelWorkGroupInfo(h(kernel), h(device), CL_KERNEL_COMPILE_WORK_GROUP_SIZE, sizes,
                    null), "clGetKernelWorkGroupInfo(CL_KERNEL_COMPILE_WORK_GROUP_SIZE)");
            return new long[] {sizes.get(0), sizes.get(1), sizes.get(2)};
        }
    }

    @Override
    public void setArgBuffer(Object kernel, int index, Object buffer) {
        ClException.check(CL10.clSetKernelArg1p(h(kernel), index, buffer == null ? 0L : h(buffer)),
                "clSetKernelArg(" + index + ", buffer)");
    }

    @Override
    public void setArgInt(Object kernel, int index, int value) {
        ClException.check(CL10.clSetKernelArg1i(h(kernel), index, value), "clSetKernelArg(" + index + ", int)");
    }

    @Override
    public void setArgLong(Object kernel, int index, long value) {
        ClException.check(CL10.clSetKernelArg1l(h(kernel), index, value), "clSetKernelArg(" + index + ", long)");
    }

    @Override
    public void setArgFloat(Object kernel, int index, float value) {
        ClException.check(CL10.clSetKernelArg1f(h(kernel), index, value), "clSetKernelArg(" + index + ", float)");
    }

    @Override
    public void setArgLocal(Object kernel, int index, long bytes) {
        ClException.check(CL10.clSetKernelArg(h(kernel), index, bytes), "clSetKernelArg(" + index + ", local)");
    }

    @Override
    public Object enqueueKernel(Object queue, Object kernel, long[] global, long[] local, boolean wantEvent) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer globalSize = stack.mallocPointer(global.length);
            for (long g : global) {
                globalSize.put(g);
            }
            globalSize.flip();
            PointerBuffer localSize = null;
            if (local != null) {
                localSize = stack.mallocPointer(local.length);
                for (long l : local) {
                    localSize.put(l);
                }
                localSize.flip();
            }
            PointerBuffer event = wantEvent ? stack.mallocPointer(1) : null;
            ClException.check(CL10.clEnqueueNDRangeKernel(h(queue), h(kernel), global.length, null, globalSize, localSize,
                    null, event), "clEnqueueNDRangeKernel");
            return wantEvent ? event.get(0) : null;
        }
    }

    @Override
    public void finish(Object queue) {
        ClException.check(CL10.clFinish(h(queue)), "clFinish");
    }

    @Override
    public void flush(Object queue) {
        ClException.check(CL10.clFlush(h(queue)), "clFlush");
    }

    @Override
    public long eventProfilingInfo(Object event, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            LongBuffer value = stack.mallocLong(1);
            ClException.check(CL10.clGetEventProfilingInfo(h(event), param, value, null), "clGetEventProfilingInfo");
            return value.get(0);
        }
    }

    @Override
    public void release(ClObject.Kind kind, Object handle) {
        long pointer = h(handle);
        int status = switch (kind) {
            case CONTEXT -> CL10.clReleaseContext(pointer);
            case QUEUE -> CL10.clReleaseCommandQueue(pointer);
            case BUFFER -> CL10.clReleaseMemObject(pointer);
            case PROGRAM -> CL10.clReleaseProgram(pointer);
            case KERNEL -> CL10.clReleaseKernel(pointer);
            case EVENT -> CL10.clReleaseEvent(pointer);
            case SUB_DEVICE -> CL12.clReleaseDevice(pointer);
        };
        ClException.check(status, "clRelease(" + kind + ")");
    }

    private static Object[] boxAll(PointerBuffer pointers) {
        Object[] boxed = new Object[pointers.remaining()];
        for (int i = 0; i < boxed.length; i++) {
            boxed[i] = pointers.get(i);
        }
        return boxed;
    }
}
