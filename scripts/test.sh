#!/usr/bin/env bash
# The whole test suite: unit and end-to-end tests (real peers on loopback)
# against the Release build, then the same under AddressSanitizer and
# UndefinedBehaviorSanitizer; between the two, a short libFuzzer run of each
# fuzz target (scripts/fuzz.sh, FUZZ_SECONDS each). Run scripts/install.sh
# once first.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build
(cd build && ctest --output-on-failure -j "$jobs")

FUZZ_SECONDS=${FUZZ_SECONDS:-30} bash scripts/fuzz.sh

# -O1 without -g: sanitizer builds of Asio coroutines are slow to compile.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS=-O1 -DNETTOOL_SANITIZE=ON
cmake --build build-asan
# intercept_tls_get_addr=0: LeakSanitizer of GCC 12 (Debian 12) misreads the
# thread-local blocks of dlopen'ed libraries that it learns of through
# __tls_get_addr on glibc 2.36, and crashes scanning them at exit ("Tracer
# caught signal 11 ... DTLS", exit 134; grpc++'s module). Not tracking them
# can only report more leaks, never hide one.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:intercept_tls_get_addr=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j "$jobs")
