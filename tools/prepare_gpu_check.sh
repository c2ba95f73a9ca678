#!/usr/bin/env bash
# Prepares what tools/gpu-check.sh needs on a GPU machine that has no network, no JDK and maybe no OpenCL ICD
# loader: a jlinked Java runtime, the application with its jars, the compiled tests with a JUnit console launcher,
# and the Debian packages of the ICD loader and of CLBlast (bench run's GEMM anchor; unpacked there only when the
# machine has no libclblast of its own). Everything goes to dist/gpu-check/ (ignored by git, about 60 MiB);
# carry that folder with the run: `carry: ["dist/gpu-check"]`, command `tools/gpu-check.sh`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dist="$root/dist/gpu-check"
cd "$root"
mvn -q -B -DskipTests package
mvn -q -B test-compile
rm -rf "$dist"
mkdir -p "$dist/app" "$dist/testlib" "$dist/debs"
cp target/gpu-infer.jar "$dist/app/"
cp -r target/lib "$dist/app/lib"
# compiled tests only: their resources (golden files, tokenizers: ~18 MiB) travel with the working tree, and
# gpu-check.sh puts src/test/resources on the class path
mkdir -p "$dist/test-classes"
cp -r target/test-classes/gpuinfer "$dist/test-classes/"
# the JUnit console launcher bundles the platform and Jupiter; jqwik's engine comes with its jars
mvn -q -B dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:1.14.4 -DoutputDirectory="$dist/testlib"
mvn -q -B dependency:copy-dependencies -DincludeScope=test -DincludeGroupIds=net.jqwik -DoutputDirectory="$dist/testlib"
# jdeps also names java.desktop and java.sql, which Jackson touches only optionally: leaving them out keeps the
# runtime at ~35 MiB, so that everything fits the 64 MiB a device run carries
jlink --add-modules java.base,jdk.unsupported,java.logging,java.management,jdk.management --strip-debug \
    --no-header-files --no-man-pages --compress=2 --output "$dist/jre"
(cd "$dist/debs" && apt-get download ocl-icd-libopencl1 libclblast1 >/dev/null)
du -sh "$dist" "$dist"/*
# a device run carries at most 64 MiB
size=$(du -sm "$dist" | cut -f1)
if [ "$size" -ge 64 ]; then
    echo "prepare_gpu_check.sh: dist/gpu-check is $size MiB, over the 64 MiB a device run carries" >&2
    exit 1
fi
