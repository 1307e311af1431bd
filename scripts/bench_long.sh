#!/bin/sh
# Long videos (issue 12): the denoise stage's peak RSS and time per frame at
# 768 frames against 192 (windowed sampling, `reel bench --windowed`, one
# fresh process per measurement so that each peak RSS is its own, the two
# lengths alternating so that both see the same machine load), and the time
# from submit to the first latent chunk on the bus at 768 frames against 48
# (`reel bench --first-chunk`: embedded NATS, the four stages in one
# process, the lengths alternating). Prints every measurement, then the three
# ratios of the medians with their targets (<= 1.25, <= 1.2, <= 1.5). Denoise
# time is given as wall time and as the process's CPU time (user + system):
# on a shared machine the CPU time is the one other jobs barely disturb.
# STEPS (default 10) and RUNS (default 3) per length.
set -eu
cd "$(dirname "$0")/.."
steps=${STEPS:-10}
runs=${RUNS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/reel" ./cmd/reel
echo "commit $(git rev-parse --short HEAD), $(nproc) CPUs, GOMAXPROCS ${GOMAXPROCS:-default}, steps $steps, runs $runs"
echo "uptime before: $(uptime)"
i=1
while [ "$i" -le "$runs" ]; do
	for f in 192 768; do
		"$tmp/reel" bench --windowed --frames "$f" --steps "$steps" --runs 1 --json >"$tmp/w$f-$i.json"
	done
	i=$((i + 1))
done
"$tmp/reel" bench --first-chunk 48,768 --steps "$steps" --runs "$runs" --json >"$tmp/fc.json"
echo "uptime after:  $(uptime)"
/usr/bin/python3 - "$tmp" "$runs" <<'PY'
import json, statistics, sys
d, runs = sys.argv[1], int(sys.argv[2])
med = statistics.median
w = {f: [json.load(open(f"{d}/w{f}-{i}.json")) for i in range(1, runs + 1)] for f in (192, 768)}
pf, cpf, rss = {}, {}, {}
for f, rs in w.items():
    pf[f] = med([r["runs"][0]["denoise_per_frame_s"] for r in rs])
    cpf[f] = med([r["runs"][0]["denoise_cpu_per_frame_s"] for r in rs])
    rss[f] = max(r["peak_rss_bytes"] for r in rs)
    print(f"denoise {f} frames ({rs[0]['runs'][0]['windows']} windows of {rs[0]['window']['Frames']} frames overlapping {rs[0]['window']['Overlap']}): "
          f"wall {[round(r['runs'][0]['denoise_s'], 2) for r in rs]} s, median {pf[f]:.4f} s per frame; "
          f"CPU {[round(r['runs'][0]['denoise_cpu_s'], 2) for r in rs]} s, median {cpf[f]:.4f} s per frame; "
          f"peak RSS {[round(r['peak_rss_bytes'] / 2**20, 1) for r in rs]} MiB")
fc = json.load(open(f"{d}/fc.json"))["runs"]
first = {}
for f in (48, 768):
    xs = [x["first_chunk_s"] for x in fc if x["frames"] == f]
    first[f] = med(xs)
    print(f"submit -> first latent chunk, {f} frames: {[round(x, 3) for x in xs]} s, median {first[f]:.3f} s")
r1, r2, r2c, r3 = rss[768] / rss[192], pf[768] / pf[192], cpf[768] / cpf[192], first[768] / first[48]
ok = lambda r, t: "ok" if r <= t else "MISSED"
print(f"peak RSS 768/192 (largest of the runs): {r1:.3f} (target <= 1.25) {ok(r1, 1.25)}")
print(f"denoise CPU time per frame 768/192 (medians): {r2c:.3f} (target <= 1.2) {ok(r2c, 1.2)}")
print(f"denoise wall time per frame 768/192 (medians): {r2:.3f} (target <= 1.2) {ok(r2, 1.2)}")
print(f"submit to first latent chunk 768/48 (medians): {r3:.3f} (target <= 1.5) {ok(r3, 1.5)}")
PY
