#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build-fuzz/) and runs each for
# FUZZ_SECONDS (default 30) from its checked-in seed corpus. New inputs go to
# a scratch directory, never into the corpus; a crash leaves its input in
# build-fuzz/findings/ and fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-30}

cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DNETTOOL_FUZZ=ON -DNETTOOL_TESTS=OFF -DNETTOOL_WERROR=OFF > /dev/null
cmake --build build-fuzz --target nettool_fuzz_http_request nettool_fuzz_http_parse nettool_fuzz_xmlrpc_decode

mkdir -p build-fuzz/findings
export ASAN_OPTIONS=detect_leaks=1
for target in http_request http_parse xmlrpc_decode; do
  scratch=$(mktemp -d)
  echo "fuzz: $target for ${seconds}s"
  status=0
  build-fuzz/fuzz/nettool_fuzz_$target -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix=build-fuzz/findings/$target- -print_final_stats=1 "$scratch" "tests/fuzz/corpus/$target" \
    > build-fuzz/$target.log 2>&1 || status=$?
  grep -E '^(stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)' build-fuzz/$target.log || true
  rm -rf "$scratch"
  if [ "$status" != 0 ]; then
    tail -40 build-fuzz/$target.log >&2
    echo "fuzz: $target found a failure (exit $status); its input is in build-fuzz/findings/" >&2
    exit 1
  fi
done
echo "fuzz: no failures"
