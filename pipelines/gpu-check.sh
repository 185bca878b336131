#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# GPU check: on a machine with an NVIDIA GPU and PyTorch, builds libi2sbseg,
# the i2sbseg tool, the GStreamer element and the GPU test suites against that
# PyTorch's LibTorch, then, most important first: runs the GPU tests (CUDA
# kernels, device frames, the element's CUDA-memory pipeline), times the frame
# path and the element at 1280x720 output (fp16, NFE 4), checks GPU/CPU mask
# agreement, times gst-launch-1.0 in system and in CUDA memory, the
# torchvision LR-ASPP peer row, training on the GPU and with torchrun, 8
# streams batched and unbatched, a short soak of 4 batched streams, and
# fp32/bf16 rows. Crashes are reported with named frames (segv-trace.c).
#
#   bash pipelines/gpu-check.sh [MODEL]        (default models/default.i2sb)
#
# BUDGET_S=N: skip the steps that would not finish within N seconds of the
# start (for a short device lease; 0, the default, runs everything).
# Logs and JSON reports go to $OUT (default out/gpu-check). A machine without
# pkg-config, ninja, GStreamer or the header-only libraries can use the kit
# made by scripts/make-gpu-kit.sh (.gpukit/, picked up automatically; its
# GStreamer part, .gpukit/gst, through scripts/gst-kit-env.sh).
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 1
model=${1:-models/default.i2sb}
out=${OUT:-out/gpu-check}
mkdir -p "$out"
log="$out/gpu-check.log"
exec > >(tee -a "$log") 2>&1
status=0
budget=${BUDGET_S:-0}
step() { echo; echo "=== $* ($(date +%T), ${SECONDS}s in)"; }
fail() { echo "FAILED: $*"; status=1; }
# have N: true when N more seconds fit in the budget; else says what is skipped.
have() {
  [ "$budget" = 0 ] && return 0
  [ $((budget - SECONDS)) -ge "$1" ] && return 0
  echo "skipped (budget): $2"; return 1
}

# The kit's ninja and headers, CUDA's bin; gpu_env_torch, gpu_meson_setup.
# shellcheck source=SCRIPTDIR/gpu-env.sh
. pipelines/gpu-env.sh
# GStreamer 1.22, GLib and pkg-config from the kit: PATH, LD_LIBRARY_PATH,
# PKG_CONFIG*, GST_PLUGIN_SYSTEM_PATH_1_0, GST_PLUGIN_SCANNER, GST_REGISTRY_1_0.
if [ -d "$kit/gst" ]; then
  # shellcheck source=SCRIPTDIR/../scripts/gst-kit-env.sh
  . scripts/gst-kit-env.sh "$(cd "$out" && pwd)/gst-registry.bin"
fi
# meson builds GoogleTest from source where it finds it in /usr/src/googletest.
if [ ! -d /usr/src/googletest/googletest ] && [ -d "$kit/src/googletest" ] && mkdir -p /usr/src/googletest 2>/dev/null; then
  cp -r "$kit/src/googletest" /usr/src/googletest/
fi

step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv || fail "nvidia-smi"
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(), "cxx11abi", torch._C._GLIBCXX_USE_CXX11_ABI)' || { fail "no PyTorch"; exit 1; }
nvcc --version | tail -2 || fail "no nvcc"
echo "meson $(meson --version), ninja $(ninja --version), $(cmake --version | head -1), $(g++ --version | head -1)"
command -v gst-inspect-1.0 >/dev/null && echo "$(gst-inspect-1.0 --version | grep "^GStreamer") ($(command -v gst-inspect-1.0))" || echo "GStreamer: not installed"
[ -d "$kit/gst/syslib-missing" ] && echo "kit system libraries in use (the machine lacks them): $(ls "$kit/gst/syslib-missing" | tr '\n' ' ')"
echo "$(nproc) cores"

step "build against PyTorch's LibTorch"
gpu_env_torch
# Distributed training needs Gloo's headers, which PyTorch's wheels lack:
# the kit's (Debian's), where c10d's Gloo header compiles with them.
if [ -d "$kit/gloo/include" ]; then
  ti=$(python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "include"))')
  if echo '#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>' |
      g++ -std=c++17 -fsyntax-only -x c++ - -DUSE_C10D_GLOO=1 -isystem "$ti" -isystem "$ti/torch/csrc/api/include" \
        -isystem "$kit/gloo/include" >"$out/gloo-check.log" 2>&1; then
    export CPLUS_INCLUDE_PATH="$CPLUS_INCLUDE_PATH:$kit/gloo/include"
    echo "Gloo headers: the kit's"
  else
    echo "Gloo headers: the kit's do not fit this PyTorch (log: $out/gloo-check.log); no distributed training"
  fi
fi
build="build-gpu"
setup() {
  gpu_meson_setup "$build" --wrap-mode=nodownload -Dtests=auto "$@" || return 1
  ninja -C "$build" tools/i2sbseg >"$out/build.log" 2>&1 || { grep -m5 -B2 -A12 'error' "$out/build.log"; return 1; }
}
if ! setup -Dgstreamer=auto; then
  fail "build with CUDA graphs / GStreamer; retrying without GStreamer"
  if ! setup -Dgstreamer=disabled; then
    fail "build without GStreamer; retrying without CUDA graphs too"
    setup -Dgstreamer=disabled -Dgpu_graphs=disabled || { fail "build"; exit 1; }
  fi
fi
sed -n '/^  i2sbseg$/,/^$/p' "$out/meson-setup.log" | head -20
# The element and the GPU test suites, where meson found GStreamer and GoogleTest.
targets=()
for t in gst-plugin/libgsti2sbseg.so tests/test_cuda tests/test_device-frames tests/test_batch tests/test_element_cuda_memory; do
  ninja -C "$build" -t targets all 2>/dev/null | grep -q "^$t:" && targets+=("$t")
done
echo "also building: ${targets[*]:-nothing}"
for t in "${targets[@]}"; do
  ninja -C "$build" "$t" >>"$out/build.log" 2>&1 || { grep -m3 -A12 'error' "$out/build.log" | tail -40; fail "building $t"; }
done
tool="$build/tools/i2sbseg"
# bench times the element only when it finds the plugin (the tool compiles
# no build path in): pass the build's plugin when it was built.
plugin="$build/gst-plugin/libgsti2sbseg.so"
bench() { if [ -f "$plugin" ]; then "$tool" bench --plugin "$plugin" "$@"; else "$tool" bench "$@"; fi; }
echo "built in ${SECONDS}s"
# Crash reports without gdb: pipelines/segv-trace.c, preloaded into the GPU
# tests and the pipelines; `traces LOG` names their frames.
segv=""
gcc -shared -fPIC -o "$build/segv-trace.so" pipelines/segv-trace.c 2>/dev/null && segv="$repo/$build/segv-trace.so"
traces() {
  grep -q 'SEGV-TRACE begin' "$1" 2>/dev/null || return 0
  echo "crash report ($1):"
  sed -n '/SEGV-TRACE begin/,/SEGV-TRACE end/p' "$1" | python3 pipelines/segv-symbols.py | grep -v '/libc.so' | head -40
}

step "GPU tests: CUDA kernels, device frames, batches, the element's CUDA-memory pipeline"
suites=()
[ -x "$build/tests/test_cuda" ] && suites+=(cuda)
[ -x "$build/tests/test_device-frames" ] && suites+=(device-frames)
[ -x "$build/tests/test_batch" ] && suites+=(batch)
[ -x "$build/tests/test_element_cuda_memory" ] && suites+=(element-cuda-memory)
if [ ${#suites[@]} -gt 0 ] && have 120 "GPU tests"; then
  LD_PRELOAD=$segv timeout 150 meson test -C "$build" --no-rebuild --print-errorlogs "${suites[@]}" \
    >"$out/gpu-tests.log" 2>&1 || fail "GPU tests (log: $out/gpu-tests.log)"
  grep -E '^ *[0-9]+/[0-9]+ |^Ok:|^Fail:|^Skipped:' "$out/gpu-tests.log"
  # Each GoogleTest case's outcome (a skip inside a suite still passes it).
  grep -hE '^\[ +(OK|SKIPPED|FAILED) +\] [A-Za-z]' "$build/meson-logs/testlog.txt" | sed 's/ ([0-9]* ms)//' | head -40
  traces "$build/meson-logs/testlog.txt"
  # device-frames crashed in its CPU-only first test on the last device
  # (docs/performance.md): does the kit's GStreamer environment matter?
  if grep -qE 'device-frames +FAIL' "$out/gpu-tests.log"; then
    env -u LD_LIBRARY_PATH LD_PRELOAD=$segv timeout 60 "$build/tests/test_device-frames" \
      --gtest_filter='*CpuRefuses*' >"$out/device-frames-clean-env.log" 2>&1
    echo "device-frames' CPU test without the kit's LD_LIBRARY_PATH: rc=$?"
    traces "$out/device-frames-clean-env.log"
  fi
else
  echo "no GPU test suite built (needs GoogleTest; GStreamer for element-cuda-memory)"
fi

step "frame path and element at 1280x720 output (320x180 in), fp16, CUDA graphs on"
bench --model "$model" --device cuda --precision fp16 --size 1280x720 --frames 30 --warmup 5 --no-pixel \
  --json-out "$out/bench-720p-fp16.json" || fail "bench 720p fp16"

step "GPU vs CPU agreement: 128x128 fp32, and 320x240 fp16"
have 60 "agreement" && {
  bench --model "$model" --device cuda --precision fp32 --size 128x128 --frames 20 --compare-cpu --no-element \
    --json-out "$out/bench-128-fp32.json" || fail "bench 128 fp32"
  bench --model "$model" --device cuda --precision fp16 --size 320x240 --frames 10 --compare-cpu --no-pixel \
    --no-element --json-out "$out/bench-320x240-fp16.json" || fail "bench 320x240 fp16"
}

# NAME FRAMES DESCRIPTION...: runs gst-launch-1.0 (log: $out/gst-NAME.log)
# and prints its wall-clock time (model load and CUDA start-up included) and
# its frame rate from PLAYING to EOS (gst-launch's "Execution ended after"),
# FRAMES being those after preroll (each stream's first goes through before
# PLAYING).
gst_fps() {
  local name=$1 n=$2 log="$out/gst-$1.log" t0 t1
  shift 2
  echo "gst-launch-1.0 $*" | cut -c1-400
  t0=$(date +%s.%N)
  if ! LD_PRELOAD=$segv timeout 150 gst-launch-1.0 --no-fault -v "$@" >"$log" 2>&1; then
    grep -v 'SEGV-TRACE\|^/\|^[a-z ()?]*: ' "$log" | tail -12; traces "$log"; fail "gst-launch $name (log: $log)"; return
  fi
  t1=$(date +%s.%N)
  grep -m2 'i2sbseg0.GstPad:s[a-z]*: caps' "$log" | sed 's/, multiview-mode.*//'
  grep 'Execution ended after' "$log" | tail -1 | awk -v n="$n" -v t0="$t0" -v t1="$t1" -v name="$name" '
    { split($4, t, ":"); s = t[1] * 3600 + t[2] * 60 + t[3]
      printf "%s: %.2f s wall clock (start-up included); %d frames in %.3f s PLAYING to EOS = %.1f fps\n",
             name, t1 - t0, n, s, n / s }'
}
gst_ok=0
if [ -f "$plugin" ] && command -v gst-launch-1.0 >/dev/null; then
  gst_ok=1
  export GST_PLUGIN_PATH="$repo/$build/gst-plugin"
fi
src=(videotestsrc num-buffers=300 ! "video/x-raw,format=RGBA,width=320,height=180,framerate=1000/1")
seg=(i2sbseg "model=$model" device=cuda precision=fp16 steps=4)
sink=(fakesink sync=false)

step "the element in gst-launch-1.0: 320x180 RGBA in, 1280x720 out, fp16, 4 steps, one stream"
if [ $gst_ok = 1 ]; then
  nvcodec=0
  if gst-inspect-1.0 cudaupload >"$out/gst-inspect-cudaupload.log" 2>&1; then
    echo "nvcodec: cudaupload registered"; nvcodec=1
  else
    fail "nvcodec registered no cudaupload (log: $out/gst-inspect-cudaupload.log)"
  fi
  gst-inspect-1.0 i2sbseg >"$out/gst-inspect-i2sbseg.log" 2>&1 || fail "gst-inspect-1.0 i2sbseg"
  grep -q 'memory:CUDAMemory' "$out/gst-inspect-i2sbseg.log" && echo "i2sbseg: pads take memory:CUDAMemory" ||
    echo "i2sbseg: built without memory:CUDAMemory caps"
  have 40 "system-memory pipeline" && gst_fps system-memory 299 "${src[@]}" ! "${seg[@]}" ! "${sink[@]}"
  if [ $nvcodec = 1 ] && have 40 "CUDA-memory pipeline"; then
    GST_DEBUG=i2sbseg:4 gst_fps cuda-memory 299 "${src[@]}" ! cudaupload ! 'video/x-raw(memory:CUDAMemory)' ! \
      "${seg[@]}" ! 'video/x-raw(memory:CUDAMemory)' ! cudadownload ! "${sink[@]}"
    grep -E 'sharing the CUDA primary context|go through host memory' "$out/gst-cuda-memory.log" | head -3
  fi
else
  echo "skipped: no element built, or no gst-launch-1.0 (scripts/make-gpu-kit.sh packs GStreamer)"
fi

step "peer row: torchvision lraspp_mobilenet_v3_large, 1280x720 input, fp16, channels-last, random weights"
# The same output size as the benches above, timed in the same run (time
# only: random weights). Eager always; torch.compile where it works in time.
have 60 "lraspp peer row" && { timeout 170 python3 - "$out/peer-lraspp.json" <<'PY' || fail "lraspp peer row"
import json, sys, time
import torch, torchvision
m = torchvision.models.segmentation.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=5)
m = m.eval().cuda().half().to(memory_format=torch.channels_last)
x = torch.rand(1, 3, 720, 1280, device="cuda").half().to(memory_format=torch.channels_last)
rows = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__}
def timed(f, n=100, warmup=20):
    with torch.inference_mode():
        for _ in range(warmup): f(x)
        torch.cuda.synchronize(); t = time.perf_counter()
        for _ in range(n): f(x)
        torch.cuda.synchronize()
    return (time.perf_counter() - t) / n * 1000
def save():
    json.dump(rows, open(sys.argv[1], "w"), indent=1)
rows["eager_ms"] = timed(m); save()
print(f"lraspp_mobilenet_v3_large eager: {rows['eager_ms']:.2f} ms/frame = {1000 / rows['eager_ms']:.0f} fps", flush=True)
try:
    rows["compiled_ms"] = timed(torch.compile(m), warmup=30); save()
    print(f"lraspp_mobilenet_v3_large compiled: {rows['compiled_ms']:.2f} ms/frame = {1000 / rows['compiled_ms']:.0f} fps")
except Exception as e:  # a compiler that is not there, or fails: say so
    rows["compiled_error"] = str(e).splitlines()[0][:200]; save()
    print("torch.compile failed:", rows["compiled_error"])
PY
}

step "one bridge step at the 720p latent: GroupNorm or none, channels-last or contiguous (fp16)"
# Where the ~1 ms per bridge step goes (docs/performance.md): a stand-in of
# BridgeNetImpl with random weights, in PyTorch, as a CUDA graph.
have 40 "bridge step layouts" && { timeout 90 python3 pipelines/bridge-step-layouts.py "$out/bridge-step-layouts.json" ||
  fail "bridge step layouts"; }

step "training throughput: one process on the GPU, and torchrun with 2 Gloo processes"
# On the kit's packed set (scripts/make-gpu-kit.sh). One GPU: NCCL needs one
# GPU per rank, so the torchrun job runs its 2 ranks on the CPU over Gloo
# (the agent-store rendezvous); the GPU row is a single process.
pack="$kit/train.pack"
train_ips() { grep '"stage":"classifier"' "$1" | tail -n 1 | sed 's/.*"images_per_s":\([0-9.]*\).*/\1/'; }
if [ -f "$pack" ]; then
  targs=(train --data "$pack" --crop 128 --class-weights none --direct-iters 1 --bridge-iters 1 --finetune-iters 0
         --e2e-iters 0 --log-every 25 --quiet --no-plot)
  if have 60 "GPU training"; then
    if timeout 120 "$tool" "${targs[@]}" --classifier-iters 150 --batch 32 --device cuda --out "$out/train-gpu.i2sb" \
        >"$out/train-gpu.log" 2>&1; then
      echo "1 process, cuda, batch 32: $(train_ips "$out/train-gpu.i2sb.log.jsonl") images/s (classifier stage)"
    else
      tail -5 "$out/train-gpu.log"; fail "GPU training"
    fi
  fi
  if ! command -v torchrun >/dev/null; then
    fail "no torchrun"
  elif have 60 "torchrun training"; then
    if OMP_NUM_THREADS=4 timeout 120 torchrun --nproc-per-node 2 --no-python "$tool" "${targs[@]}" --classifier-iters 40 \
        --batch 8 --threads 4 --device cpu --dist-backend gloo --out "$out/train-torchrun.i2sb" >"$out/train-torchrun.log" 2>&1; then
      echo "torchrun 2 processes (gloo, CPU, 4 threads each), batch 8 each: $(train_ips "$out/train-torchrun.i2sb.log.jsonl") images/s"
    else
      tail -8 "$out/train-torchrun.log"; fail "torchrun training"
    fi
  fi
else
  echo "skipped: no $pack (scripts/make-gpu-kit.sh makes it from data/default)"
fi

step "8 streams through one model: batch of 8 vs one by one"
have 40 "library batch" && { bench --model "$model" --device cuda --precision fp16 --size 1280x720 --batch 8 \
  --frames 10 --warmup 2 || fail "bench --batch 8"; }
# STREAMS BATCH: one gst-launch-1.0 with STREAMS branches of 200 frames each.
# Patterns with a few large regions, as video has: noise ("snow") gives
# fragmented class maps whose ROI labelling, not the model, would be timed.
patterns=(smpte ball circular pinwheel spokes gradient colors smpte75)
gst_streams() {
  local n=$1 b=$2 args=() i
  for ((i = 0; i < n; i++)); do
    args+=(videotestsrc num-buffers=200 "pattern=${patterns[i % 8]}" ! "video/x-raw,format=RGBA,width=320,height=180,framerate=1000/1"
           ! "${seg[@]}" "batch-size=$b" batch-timeout=20 "seed=$((i + 1))" ! fakesink sync=false)
  done
  gst_fps "streams$n-batch$b" $((199 * n)) "${args[@]}"
}
if [ $gst_ok = 1 ] && have 70 "8-stream pipelines"; then
  gst_streams 8 1
  gst_streams 8 8
fi

step "soak: 4 batched streams, 320x180 -> 1280x720 fp16, GPU memory and RSS sampled"
if [ $gst_ok = 1 ] && have 100 "GPU soak"; then
  soak_s=${SOAK_S:-90}
  SOAK_SECONDS=$soak_s SOAK_SAMPLE_S=$((soak_s / 6)) SOAK_BUILD="$repo/$build" SOAK_SIZE=320x180 \
    SOAK_ELEMENT="device=cuda precision=fp16 steps=4" bash scripts/soak-batched.sh 1 4 "$model" ||
    fail "GPU soak"
fi

step "1280x720 output: fp32 and bf16 (graphs on), fp16 with CUDA graphs off"
for prec in fp32 bf16; do
  have 40 "720p $prec" && { bench --model "$model" --device cuda --precision "$prec" --size 1280x720 --frames 20 \
    --warmup 5 --no-pixel --no-element --json-out "$out/bench-720p-$prec.json" || fail "bench 720p $prec"; }
done
have 40 "720p without graphs" && { bench --model "$model" --device cuda --precision fp16 --size 1280x720 --frames 20 \
  --warmup 5 --no-pixel --no-element --cuda-graphs off --json-out "$out/bench-720p-fp16-nographs.json" ||
  fail "bench 720p no graphs"; }

step "summary"
python3 - "$out" <<'EOF'
import json, glob, os, sys
bad = False
for f in sorted(glob.glob(os.path.join(sys.argv[1], "bench-*.json"))):
    j = json.load(open(f))
    fr = j.get("frame_ms", {}).get("4")
    el = (f"  element {j['element_ms']:.2f} ms passthrough {j['passthrough_ms']:.2f} ms"
          if "element_ms" in j else "")
    print(f"{os.path.basename(f):34s} {j['precision']} unet {j['unet_ms']:.2f} ms  latent[4] {j['latent_ms'].get('4', 0):.2f} ms"
          f"  frame[4] {fr or 0:.2f} ms" + (f" = {1000 / fr:.0f} fps" if fr else "") + el
          + f"  agreement {j.get('agreement_with_cpu', '-')}")
    a = j.get("agreement_with_cpu", {}).get("fp32")
    if a is not None and a < 0.99:
        print(f"FAILED: fp32 mask agreement {a:.4f} < 0.99 in {f}")
        bad = True
sys.exit(1 if bad else 0)
EOF
[ $? = 0 ] || status=1
echo "gpu-check: $([ $status = 0 ] && echo passed || echo 'had failures (see above)') in ${SECONDS}s; logs in $out"
exit $status
