#!/bin/sh
# Whole 48-frame generation, pure-Go engine vs the PyTorch reference on the CPU, side by
# side in one run, each under /usr/bin/time -v for its peak RSS.
#   usage: model/bench/run.sh [GO_RUNS [TORCH_RUNS]]   (from the repository root; default 3 and 2)
# The Go engine runs twice: embedded FP8 DiT (the default build) and the BF16 DiT in
# float32 (the same weights PyTorch uses). PyTorch: 2 threads, BF16 weights in float32.
set -eu
runs=${1:-3}
torch_runs=${2:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/generate" ./model/bench/generate
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
run() { # name, command...
	name=$1
	shift
	/usr/bin/time -v "$@" 2>"$tmp/time" | tee "$tmp/out"
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/time")
	echo "$name peak RSS $((rss / 1024)) MiB"
}
run "go (FP8 DiT)" "$tmp/generate" -runs "$runs"
run "go (float32 DiT)" "$tmp/generate" -runs "$runs" -dit model/testdata/reel-tiny.dit.bf16.safetensors
run "pytorch" /usr/bin/python3 model/bench/pytorch_generate.py --runs "$torch_runs" --threads 2
