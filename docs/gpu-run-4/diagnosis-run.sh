#!/usr/bin/env bash
# Archived: the second device call of 2026-11-30 (docs/gpu-run-4/README.md), run as
# `bash .gpukit/diag/run2.sh OUT` with .gpukit/diag/segv.c, an early form of
# pipelines/segv-trace.c, and sym.py, an early pipelines/segv-symbols.py.
# Diagnosis run: backtraces of the GPU crashes, and the 8-stream pipelines after the noise fix.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
out=$1; mkdir -p "$out"
exec > >(tee -a "$out/run2.log") 2>&1
kit=$PWD/.gpukit
export PATH="$kit/bin:$PATH:/usr/local/cuda/bin" CPLUS_INCLUDE_PATH="$kit/include"
. scripts/gst-kit-env.sh /tmp/reg.bin
mkdir -p /usr/src/googletest && cp -r "$kit/src/googletest" /usr/src/googletest/
gcc -shared -fPIC -o /tmp/segv.so "$kit/diag/segv.c" || echo "no segv shim"
torch_dir=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
b=build-gpu
meson setup $b --wrap-mode=nodownload -Dtorch_dir="$torch_dir" -Dgpu_archs=9.0 -Dcuda=enabled -Dtests=auto \
  -Dfuzzer=disabled -Dopencv=disabled >"$out/setup.log" 2>&1 || { tail -30 "$out/setup.log"; exit 1; }
ninja -C $b tools/i2sbseg gst-plugin/libgsti2sbseg.so tests/test_device-frames tests/test_element_cuda_memory \
  >"$out/build.log" 2>&1 || { grep -m3 -A10 error "$out/build.log"; exit 1; }
echo "built ${SECONDS}s"
trace() {
  local name=$1; shift
  LD_PRELOAD=/tmp/segv.so timeout 60 "$@" >"$out/$name.log" 2>&1; echo "== $name rc=$? (${SECONDS}s)"
  grep -E '^\[ +(OK|SKIPPED|FAILED|RUN) +\]' "$out/$name.log" | tail -12
  sed -n '/SEGV-BACKTRACE/,/SEGV-END/p' "$out/$name.log" | python3 "$kit/diag/sym.py" | head -45
}
export GST_PLUGIN_PATH_1_0=$PWD/$b/gst-plugin GST_PLUGIN_PATH=$PWD/$b/gst-plugin OMP_NUM_THREADS=1 I2SBSEG_TOOL=$PWD/$b/tools/i2sbseg
export GST_DEBUG_NO_COLOR=1
trace device-frames $b/tests/test_device-frames
trace device-frames-gpu $b/tests/test_device-frames --gtest_filter=-*CpuRefuses*
trace element-cuda-memory $b/tests/test_element_cuda_memory
src="videotestsrc num-buffers=300 ! video/x-raw,format=RGBA,width=320,height=180,framerate=1000/1"
seg="i2sbseg model=models/default.i2sb device=cuda precision=fp16 steps=4"
# shellcheck disable=SC2086
GST_DEBUG=i2sbseg:5,cuda*:4 trace gst-cuda gst-launch-1.0 --no-fault $src ! cudaupload ! "video/x-raw(memory:CUDAMemory)" ! \
  $seg ! "video/x-raw(memory:CUDAMemory)" ! cudadownload ! fakesink sync=false
grep "Execution ended" "$out/gst-cuda.log"; grep -v "SEGV\|^/" "$out/gst-cuda.log" | grep -iE "cuda|error|warn" | tail -25 | cut -c1-300
streams() {
  local bs=$1 args=() i
  for ((i = 0; i < 8; i++)); do
    # shellcheck disable=SC2206
    args+=(videotestsrc num-buffers=200 pattern=$((i % 4)) ! video/x-raw,format=RGBA,width=320,height=180,framerate=1000/1
           ! $seg batch-size=$bs batch-timeout=20 seed=$((i + 1)) ! fakesink sync=false)
  done
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 500 >"$out/mem-b$bs.txt" 2>/dev/null & local smi=$!
  LD_PRELOAD=/tmp/segv.so timeout 90 gst-launch-1.0 --no-fault "${args[@]}" >"$out/streams-b$bs.log" 2>&1
  echo "== 8 streams x 199 frames after preroll, batch-size $bs: rc=$? $(grep 'Execution ended' "$out/streams-b$bs.log") GPU MiB max $(sort -n "$out/mem-b$bs.txt" | tail -1) (${SECONDS}s)"
  kill $smi 2>/dev/null
  grep -m3 -iE "error|SEGV" "$out/streams-b$bs.log" | cut -c1-300
}
streams 1
streams 8
$b/tools/i2sbseg bench --model models/default.i2sb --device cuda --precision fp16 --size 1280x720 --batch 8 --frames 10 --warmup 2
$b/tools/i2sbseg bench --plugin $b/gst-plugin/libgsti2sbseg.so --model models/default.i2sb --device cuda --precision fp16 \
  --size 1280x720 --frames 30 --warmup 5 --no-pixel --nfe 4
echo "done ${SECONDS}s"
