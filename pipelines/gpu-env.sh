# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# Sourced by pipelines/gpu-check.sh and pipelines/gpu-train.sh, from the
# repository root, with $repo (that root) and $out (their log folder) set:
# the set-up both share on a GPU machine with PyTorch, nvcc, meson and CMake.
# Sourcing it sets kit (.gpukit, made by scripts/make-gpu-kit.sh) and puts
# the kit's ninja and header-only libraries (where the kit is there) and
# CUDA's bin folder on PATH and CPLUS_INCLUDE_PATH. Then:
#   gpu_env_jpeg            Debian's libjpeg from the kit (FULL_PACK), to read JPEG packs
#   gpu_env_torch           sets torch_dir and cc, for gpu_meson_setup
#   gpu_meson_setup BUILD OPTION...
#                           a fresh meson setup of BUILD against PyTorch's LibTorch
: "${repo:?gpu-env.sh: set repo}" "${out:?gpu-env.sh: set out}"
kit="$repo/.gpukit"
if [ -d "$kit" ]; then
  export PATH="$kit/bin:$PATH"
  export CPLUS_INCLUDE_PATH="$kit/include${CPLUS_INCLUDE_PATH:+:$CPLUS_INCLUDE_PATH}"
fi
[ -d /usr/local/cuda/bin ] && export PATH="$PATH:/usr/local/cuda/bin"

# libjpeg (Debian's, from the kit) decodes a pack's JPEG images.
gpu_env_jpeg() {
  local jpeg_lib="$kit/jpeg/usr/lib/x86_64-linux-gnu"
  [ -d "$jpeg_lib/pkgconfig" ] || return 0
  # Its .pc names /usr outright; jconfig.h sits in the multiarch folder.
  sed -i "s|=/usr|=$kit/jpeg/usr|" "$jpeg_lib"/pkgconfig/*.pc
  export PKG_CONFIG_PATH="$jpeg_lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
  # Also on the compiler's own paths, for a machine without pkg-config.
  export CPLUS_INCLUDE_PATH="$CPLUS_INCLUDE_PATH:$kit/jpeg/usr/include:$kit/jpeg/usr/include/x86_64-linux-gnu"
  export LIBRARY_PATH="$jpeg_lib${LIBRARY_PATH:+:$LIBRARY_PATH}"
  export LD_LIBRARY_PATH="$jpeg_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
}

# torch_dir: PyTorch's CMake prefix (-Dtorch_dir); cc: the first GPU's
# compute capability, e.g. 9.0 (-Dgpu_archs). Fails without PyTorch.
gpu_env_torch() {
  torch_dir=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)') || return 1
  cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d ' ')
}

# gpu_meson_setup BUILD OPTION...: removes BUILD and sets it up anew for this
# GPU and PyTorch, CUDA enabled, without fuzzer or OpenCV, with the caller's
# OPTIONs; the log goes to $out/meson-setup.log, its tail shown on failure.
gpu_meson_setup() {
  local build=$1
  shift
  rm -rf "$build"
  meson setup "$build" -Dtorch_dir="$torch_dir" -Dgpu_archs="$cc" -Dcuda=enabled -Dfuzzer=disabled -Dopencv=disabled \
    "$@" >"$out/meson-setup.log" 2>&1 || { tail -30 "$out/meson-setup.log"; return 1; }
}
