#!/bin/sh
# The Go engine side by side with fair anchors: PyTorch 1.13 at its best on this CPU and
# ONNX Runtime, alternated round after round, medians and ratios (see anchors.py).
#   usage: model/bench/anchors.sh [ROUNDS [JSON]]   (from the repository root; default 5)
# First run sets up, under model/bench/.cache (git-ignored):
# - OpenBLAS 0.3.21 (Debian libopenblas0-pthread), fetched with apt-get download and
#   unpacked there, not installed: the anchor alone puts it on LD_LIBRARY_PATH (this
#   machine's system BLAS is the reference libblas3, which PyTorch would otherwise use).
# - the reference DiT and VAE exported to ONNX (export_onnx.py).
# - onnxruntime-node in model/bench/onnx (npm install --ignore-scripts: its postinstall
#   downloads CUDA files).
# OPENBLAS_CORETYPE defaults to SkylakeX (AVX-512 kernels); set it to try another.
# The anchors' thread pools wait passively (OMP_WAIT_POLICY=PASSIVE, ONNX Runtime
# allow_spinning 0): on this machine, shared with other jobs, their default busy-waiting
# made a PyTorch VAE chunk 10-40x slower under load (1.4-2.6 s against 0.04-0.2 s at load
# average 17). ANCHOR_SPIN=1 restores the defaults, for a machine of one's own.
set -eu
rounds=${1:-5}
json=${2:-}
bench=model/bench
cache=$bench/.cache
mkdir -p "$cache"
if [ ! -d "$cache/openblas" ]; then
	(cd "$cache" && apt-get download libopenblas0-pthread && dpkg -x libopenblas0-pthread_*.deb openblas)
fi
[ -f "$cache/onnx/dit.onnx" ] || /usr/bin/python3 "$bench/export_onnx.py" "$cache/onnx"
[ -d "$bench/onnx/node_modules/onnxruntime-node" ] || (cd "$bench/onnx" && npm install --ignore-scripts)
go build -o "$cache/reel" ./cmd/reel
go test -c -o "$cache/model.test" ./model
go test -c -o "$cache/kernels.test" ./model/kernels
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(go version | cut -d' ' -f3), commit $(git rev-parse --short HEAD)$(git diff --quiet || echo +dirty)"
exec /usr/bin/python3 "$bench/anchors.py" --rounds "$rounds" --cache "$cache" \
	--openblas "$cache/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread" ${json:+--json "$json"}
