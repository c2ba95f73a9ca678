package org.jocl;

import gpuinfer.cl.OpenClLibrary;
import gpuinfer.cl.jocl.JoclNative;

import java.util.ArrayList;
import java.util.List;

/**
 * gpu-infer's replacement for JOCL 2.0.5's class of the same name, which passes only "libOpenCL.so" to the dynamic
 * loader and so fails on machines that have just libOpenCL.so.1 (the runtime package, without the -dev symlink).
 * JOCL's {@code CL} calls {@code LibInitializer.initNativeLibrary()} from its static initializer; because
 * gpu-infer's classes come before JOCL's jar on the class path (target/classes in tests, gpu-infer.jar first in the
 * launcher's class path), this class is the one loaded, and it tries every candidate the LWJGL binding tries.
 *
 * <p>It relies on JOCL's package-private {@code CL.initNativeLibrary(String)}: the JOCL version is pinned in
 * pom.xml, and {@code OpenClLibraryTest} checks that this class is the one in use.
 */
final class LibInitializer {
    private LibInitializer() {
    }

    static void initNativeLibrary() {
        List<String> failed = new ArrayList<>();
        for (String candidate : OpenClLibrary.candidates()) {
            if (CL.initNativeLibrary(candidate)) {
                JoclNative.recordLoaded(candidate);
                return;
            }
            failed.add(candidate);
        }
        JoclNative.recordFailures(String.join("\n  ", failed));
        throw new UnsatisfiedLinkError("Could not load the OpenCL library; tried " + String.join(", ", failed));
    }
}
