#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# GPU check: on a machine with an NVIDIA GPU and PyTorch, builds libi2sbseg and
# the i2sbseg tool against that PyTorch's LibTorch, runs the CUDA kernel tests,
# checks that GPU and CPU masks agree (>= 99 % in fp32), and benchmarks the GPU
# path (fp32/fp16/bf16, with and without CUDA graphs) up to 1280x720 output,
# then runs the GStreamer element with gst-launch-1.0, in system and in CUDA
# memory (cudaupload/cudadownload), where GStreamer is there or in the kit.
#
#   bash pipelines/gpu-check.sh [MODEL]        (default models/default.i2sb)
#
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
step() { echo; echo "=== $* ($(date +%T))"; }
fail() { echo "FAILED: $*"; status=1; }

kit="$repo/.gpukit"
if [ -d "$kit" ]; then
  export PATH="$kit/bin:$PATH"
  export CPLUS_INCLUDE_PATH="$kit/include${CPLUS_INCLUDE_PATH:+:$CPLUS_INCLUDE_PATH}"
fi
[ -d /usr/local/cuda/bin ] && export PATH="$PATH:/usr/local/cuda/bin"
# GStreamer 1.22, GLib and pkg-config from the kit: PATH, LD_LIBRARY_PATH,
# PKG_CONFIG*, GST_PLUGIN_SYSTEM_PATH_1_0, GST_PLUGIN_SCANNER, GST_REGISTRY_1_0.
if [ -d "$kit/gst" ]; then
  # shellcheck source=SCRIPTDIR/../scripts/gst-kit-env.sh
  . scripts/gst-kit-env.sh "$(cd "$out" && pwd)/gst-registry.bin"
fi

step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv || fail "nvidia-smi"
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(), "cxx11abi", torch._C._GLIBCXX_USE_CXX11_ABI)' || { fail "no PyTorch"; exit 1; }
nvcc --version | tail -2 || fail "no nvcc"
meson --version; ninja --version; cmake --version | head -1
command -v gst-inspect-1.0 >/dev/null && echo "$(gst-inspect-1.0 --version | grep "^GStreamer") ($(command -v gst-inspect-1.0))" || echo "GStreamer: not installed"
[ -d "$kit/gst/syslib-missing" ] && echo "kit system libraries in use (the machine lacks them): $(ls "$kit/gst/syslib-missing" | tr '\n' ' ')"
nproc

step "build against PyTorch's LibTorch"
torch_dir=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d ' ')
build="build-gpu"
setup() {
  rm -rf "$build"
  meson setup "$build" -Dtorch_dir="$torch_dir" -Dgpu_archs="$cc" -Dcuda=enabled -Dtests=disabled \
    -Dopencv=disabled "$@" && ninja -C "$build" tools/i2sbseg
}
if ! setup -Dgstreamer=auto; then
  fail "build with CUDA graphs / GStreamer; retrying without GStreamer"
  if ! setup -Dgstreamer=disabled; then
    fail "build without GStreamer; retrying without CUDA graphs too"
    setup -Dgstreamer=disabled -Dgpu_graphs=disabled || { fail "build"; exit 1; }
  fi
fi
grep -A13 "^i2sbseg" "$build/meson-logs/meson-log.txt" | tail -12 || true
# The element, where meson found GStreamer (on a bare machine, the kit's).
if ninja -C "$build" -t targets all 2>/dev/null | grep -q '^gst-plugin/libgsti2sbseg.so:'; then
  ninja -C "$build" gst-plugin/libgsti2sbseg.so || fail "building the GStreamer element"
fi
tool="$build/tools/i2sbseg"
# bench times the element only when it finds the plugin (the tool compiles
# no build path in): pass the build's plugin when it was built.
plugin="$build/gst-plugin/libgsti2sbseg.so"
bench() { if [ -f "$plugin" ]; then "$tool" bench --plugin "$plugin" "$@"; else "$tool" bench "$@"; fi; }

step "CUDA kernel tests (GoogleTest from the kit)"
if [ -d "$kit/src/googletest" ]; then
  abi=$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
  g=$kit/src/googletest
  cuda_root=$(dirname "$(dirname "$(command -v nvcc)")")
  if g++ -std=c++17 -O1 -D_GLIBCXX_USE_CXX11_ABI="$abi" -I"$g/include" -I"$g" -Ilib/include -isystem "$cuda_root/include" \
      "$g/src/gtest-all.cc" "$g/src/gtest_main.cc" tests/lib/test_cuda.cpp -L"$build/lib" -li2sbseg \
      -Wl,-rpath,"$repo/$build/lib" -L"$cuda_root/lib64" -lcudart -Wl,-rpath,"$cuda_root/lib64" -lpthread \
      -o "$build/test_cuda"; then
    "$build/test_cuda" || fail "CUDA kernel tests"
  else
    fail "compiling the CUDA kernel tests"
  fi
fi

step "GPU vs CPU agreement and bench, 128x128 (the model's native size), precision fp32"
bench --model "$model" --device cuda --precision fp32 --size 128x128 --frames 30 --compare-cpu \
  --json-out "$out/bench-128-fp32.json" || fail "bench 128 fp32"
step "agreement at 320x240 output, fp16"
bench --model "$model" --device cuda --precision fp16 --size 320x240 --frames 10 --compare-cpu --no-pixel \
  --json-out "$out/bench-320x240-fp16.json" || fail "bench 320x240 fp16"
# QUICK=1: fewer runs, no bf16 (for a short device lease).
frames=50; precisions="fp32 fp16 bf16"
[ "${QUICK:-0}" = 1 ] && { frames=20; precisions="fp32 fp16"; }
for prec in $precisions; do
  step "1280x720 output, $prec, CUDA graphs on"
  bench --model "$model" --device cuda --precision "$prec" --size 1280x720 --frames $frames --warmup 5 \
    --json-out "$out/bench-720p-$prec.json" || fail "bench 720p $prec"
done
step "1280x720 output, fp16, CUDA graphs off"
bench --model "$model" --device cuda --precision fp16 --size 1280x720 --frames $frames \
  --warmup 5 --no-pixel --cuda-graphs off --json-out "$out/bench-720p-fp16-nographs.json" || fail "bench 720p no graphs"

step "peer row: torchvision lraspp_mobilenet_v3_large, 1280x720 input, fp16, channels-last, random weights"
# The same output size as the benches above, timed in the same run (time
# only: random weights). Eager always; torch.compile where it works in 120 s.
timeout 300 python3 - "$out/peer-lraspp.json" <<'PY' || fail "lraspp peer row"
import json, sys, time
import torch, torchvision
m = torchvision.models.segmentation.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=5)
m = m.eval().cuda().half().to(memory_format=torch.channels_last)
x = torch.rand(1, 3, 720, 1280, device="cuda").half().to(memory_format=torch.channels_last)
def timed(f, n=100, warmup=20):
    with torch.inference_mode():
        for _ in range(warmup): f(x)
        torch.cuda.synchronize(); t = time.perf_counter()
        for _ in range(n): f(x)
        torch.cuda.synchronize()
    return (time.perf_counter() - t) / n * 1000
rows = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "eager_ms": timed(m)}
try:
    rows["compiled_ms"] = timed(torch.compile(m), warmup=30)
except Exception as e:  # a compiler that is not there, or fails: say so
    rows["compiled_error"] = str(e).splitlines()[0][:200]
for k in ("eager_ms", "compiled_ms"):
    if k in rows: print(f"lraspp_mobilenet_v3_large {k[:-3]}: {rows[k]:.2f} ms/frame = {1000 / rows[k]:.0f} fps")
json.dump(rows, open(sys.argv[1], "w"), indent=1)
PY

step "training throughput: one process on the GPU, and torchrun with 2 Gloo processes"
# On the kit's packed set (scripts/make-gpu-kit.sh). One GPU: NCCL needs one
# GPU per rank, so the torchrun job runs its 2 ranks on the CPU over Gloo
# (the agent-store rendezvous); the GPU row is a single process.
pack="$kit/train.pack"
train_ips() { grep '"stage":"classifier"' "$1" | tail -n 1 | sed 's/.*"images_per_s":\([0-9.]*\).*/\1/'; }
if [ -f "$pack" ]; then
  targs=(train --data "$pack" --crop 128 --class-weights none --direct-iters 1 --bridge-iters 1 --finetune-iters 0
         --e2e-iters 0 --log-every 50 --quiet --no-plot)
  if timeout 240 "$tool" "${targs[@]}" --classifier-iters 300 --batch 32 --device cuda --out "$out/train-gpu.i2sb" \
      >"$out/train-gpu.log" 2>&1; then
    echo "1 process, cuda, batch 32: $(train_ips "$out/train-gpu.i2sb.log.jsonl") images/s (classifier stage)"
  else
    tail -5 "$out/train-gpu.log"; fail "GPU training"
  fi
  if command -v torchrun >/dev/null; then
    if OMP_NUM_THREADS=4 timeout 240 torchrun --nproc-per-node 2 --no-python "$tool" "${targs[@]}" --classifier-iters 60 \
        --batch 8 --threads 4 --device cpu --dist-backend gloo --out "$out/train-torchrun.i2sb" >"$out/train-torchrun.log" 2>&1; then
      echo "torchrun 2 processes (gloo, CPU, 4 threads each), batch 8 each: $(train_ips "$out/train-torchrun.i2sb.log.jsonl") images/s"
    else
      tail -8 "$out/train-torchrun.log"; fail "torchrun training"
    fi
  else
    fail "no torchrun"
  fi
else
  echo "skipped: no $pack (scripts/make-gpu-kit.sh makes it from data/default)"
fi

step "the element in gst-launch-1.0: 320x180 RGBA in, fp16, 4 steps"
# NAME DESCRIPTION: runs the pipeline (log: $out/gst-NAME.log) and prints its
# wall-clock time (model load and CUDA start-up included) and its frame rate
# from PLAYING to EOS (gst-launch's "Execution ended after"; the first frame
# went through in preroll, before PLAYING).
gst_frames=300
gst_fps() {
  local name=$1 desc=$2 log="$out/gst-$1.log" t0 t1
  echo "gst-launch-1.0 $desc"
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086  # gst-launch-1.0 takes the description word by word
  if ! timeout 150 gst-launch-1.0 -v $desc >"$log" 2>&1; then
    tail -15 "$log"; fail "gst-launch $name (log: $log)"; return
  fi
  t1=$(date +%s.%N)
  grep -m2 'i2sbseg0.GstPad:s[a-z]*: caps' "$log" | sed 's/, multiview-mode.*//'
  grep 'Execution ended after' "$log" | tail -1 | awk -v n=$gst_frames -v t0="$t0" -v t1="$t1" -v name="$name" '
    { split($4, t, ":"); s = t[1] * 3600 + t[2] * 60 + t[3]
      printf "%s: %d frames, %.2f s wall clock (start-up included); %.3f s PLAYING to EOS = %.1f fps\n",
             name, n, t1 - t0, s, (n - 1) / s }'
  grep -o 'average: [0-9.]*' "$log" | tail -1 | sed 's/^/  fpsdisplaysink /'
}
if [ -f "$plugin" ] && command -v gst-launch-1.0 >/dev/null; then
  export GST_PLUGIN_PATH="$repo/$build/gst-plugin"
  nvcodec=0
  if gst-inspect-1.0 cudaupload >"$out/gst-inspect-cudaupload.log" 2>&1; then
    echo "nvcodec: cudaupload registered"; nvcodec=1
  else
    fail "nvcodec registered no cudaupload (log: $out/gst-inspect-cudaupload.log)"
  fi
  gst-inspect-1.0 i2sbseg >"$out/gst-inspect-i2sbseg.log" 2>&1 || fail "gst-inspect-1.0 i2sbseg"
  grep -q 'memory:CUDAMemory' "$out/gst-inspect-i2sbseg.log" && echo "i2sbseg: pads take memory:CUDAMemory" ||
    echo "i2sbseg: built without memory:CUDAMemory caps"
  src="videotestsrc num-buffers=$gst_frames ! video/x-raw,format=RGBA,width=320,height=180,framerate=1000/1"
  seg="i2sbseg model=$model device=cuda precision=fp16 steps=4"
  sink="fpsdisplaysink video-sink=fakesink text-overlay=false sync=false fps-update-interval=250"
  gst_fps system-memory "$src ! $seg ! $sink"
  if [ $nvcodec = 1 ]; then
    gst_fps cuda-memory "$src ! cudaupload ! video/x-raw(memory:CUDAMemory) ! $seg ! video/x-raw(memory:CUDAMemory) ! cudadownload ! $sink"
  fi
  # The element's CUDA-memory test, where the build has the tests (not this
  # one's: -Dtests=disabled).
  if [ -x "$build/tests/test_element_cuda_memory" ]; then
    timeout 300 "$build/tests/test_element_cuda_memory" || fail "element-cuda-memory test"
  else
    echo "element-cuda-memory test: not built"
  fi
else
  echo "skipped: no element built, or no gst-launch-1.0 (scripts/make-gpu-kit.sh packs GStreamer)"
fi

step "summary"
python3 - "$out" <<'EOF'
import json, glob, os, sys
bad = False
for f in sorted(glob.glob(os.path.join(sys.argv[1], "bench-*.json"))):
    j = json.load(open(f))
    fr = j.get("frame_ms", {}).get("4")
    print(f"{os.path.basename(f):34s} {j['precision']} unet {j['unet_ms']:.2f} ms  latent[4] {j['latent_ms'].get('4', 0):.2f} ms"
          f"  pixel[4] {j['pixel_ms'].get('4', 0):.2f} ms  frame[4] {fr or 0:.2f} ms"
          + (f" = {1000 / fr:.0f} fps" if fr else "") + f"  agreement {j.get('agreement_with_cpu', '-')}")
    a = j.get("agreement_with_cpu", {}).get("fp32")
    if a is not None and a < 0.99:
        print(f"FAILED: fp32 mask agreement {a:.4f} < 0.99 in {f}")
        bad = True
sys.exit(1 if bad else 0)
EOF
[ $? = 0 ] || status=1
echo "gpu-check: $([ $status = 0 ] && echo passed || echo 'had failures (see above)'); logs in $out"
exit $status
