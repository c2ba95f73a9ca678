package gpuinfer.cl;

/** The OpenCL enumerants gpu-infer uses, with their values from the Khronos headers (cl.h). */
final class ClConstants {
    private ClConstants() {
    }

    static final int CL_PLATFORM_VERSION = 0x0901;
    static final int CL_PLATFORM_NAME = 0x0902;
    static final int CL_PLATFORM_VENDOR = 0x0903;

    static final long CL_DEVICE_TYPE_CPU = 1 << 1;
    static final long CL_DEVICE_TYPE_GPU = 1 << 2;
    static final long CL_DEVICE_TYPE_ACCELERATOR = 1 << 3;
    static final long CL_DEVICE_TYPE_CUSTOM = 1 << 4;

    static final int CL_DEVICE_TYPE = 0x1000;
    static final int CL_DEVICE_MAX_COMPUTE_UNITS = 0x1002;
    static final int CL_DEVICE_MAX_WORK_GROUP_SIZE = 0x1004;
    static final int CL_DEVICE_MAX_WORK_ITEM_SIZES = 0x1005;
    static final int CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT = 0x100A;
    static final int CL_DEVICE_MAX_CLOCK_FREQUENCY = 0x100C;
    static final int CL_DEVICE_MAX_MEM_ALLOC_SIZE = 0x1010;
    static final int CL_DEVICE_GLOBAL_MEM_CACHE_SIZE = 0x101E;
    static final int CL_DEVICE_GLOBAL_MEM_SIZE = 0x101F;
    static final int CL_DEVICE_LOCAL_MEM_TYPE = 0x1022;
    static final int CL_DEVICE_LOCAL_MEM_SIZE = 0x1023;
    static final int CL_DEVICE_PROFILING_TIMER_RESOLUTION = 0x1025;
    static final int CL_DEVICE_NAME = 0x102B;
    static final int CL_DEVICE_VENDOR = 0x102C;
    static final int CL_DRIVER_VERSION = 0x102D;
    static final int CL_DEVICE_VERSION = 0x102F;
    static final int CL_DEVICE_EXTENSIONS = 0x1030;
    static final int CL_DEVICE_DOUBLE_FP_CONFIG = 0x1032;
    static final int CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT = 0x103A;
    static final int CL_DEVICE_OPENCL_C_VERSION = 0x103D;

    static final int CL_DEVICE_PARTITION_MAX_SUB_DEVICES = 0x1043;
    static final int CL_DEVICE_PARTITION_PROPERTIES = 0x1044;

    static final long CL_DEVICE_PARTITION_EQUALLY = 0x1086;
    static final long CL_DEVICE_PARTITION_BY_COUNTS = 0x1087;
    static final long CL_DEVICE_PARTITION_BY_COUNTS_LIST_END = 0x0;
    static final long CL_DEVICE_PARTITION_BY_AFFINITY_DOMAIN = 0x1088;

    static final int CL_LOCAL = 0x1;

    static final long CL_QUEUE_PROFILING_ENABLE = 1 << 1;
    static final long CL_MEM_READ_WRITE = 1 << 0;
    static final long CL_MEM_READ_ONLY = 1 << 2;
    static final long CL_MEM_USE_HOST_PTR = 1 << 3;

    static final int CL_PROFILING_COMMAND_QUEUED = 0x1280;
    static final int CL_PROFILING_COMMAND_SUBMIT = 0x1281;
    static final int CL_PROFILING_COMMAND_START = 0x1282;
    static final int CL_PROFILING_COMMAND_END = 0x1283;
}
