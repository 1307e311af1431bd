#!/bin/sh
# Long videos (issue 12): the denoise stage's peak RSS and time per frame at
# 768 frames against 192 (windowed sampling, one fresh process per length so
# that each peak RSS is its own), and the time from submit to the first
# latent chunk on the bus at 768 frames against 48 (embedded NATS, the four
# stages in one process). Prints the numbers and the three ratios with their
# targets (<= 1.25, <= 1.2, <= 1.5). STEPS (default 10) and RUNS (default 2)
# are per measurement; the medians over RUNS are compared.
set -eu
cd "$(dirname "$0")/.."
steps=${STEPS:-10}
runs=${RUNS:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/reel" ./cmd/reel
echo "commit $(git rev-parse --short HEAD), $(nproc) CPUs, GOMAXPROCS ${GOMAXPROCS:-default}, steps $steps, runs $runs"
echo "uptime before: $(uptime)"
for f in 192 768; do
	"$tmp/reel" bench --windowed --frames "$f" --steps "$steps" --runs "$runs" --json >"$tmp/w$f.json"
done
"$tmp/reel" bench --first-chunk 48,768 --steps "$steps" --runs "$runs" --json >"$tmp/fc.json"
echo "uptime after:  $(uptime)"
/usr/bin/python3 - "$tmp" <<'PY'
import json, statistics, sys
d = sys.argv[1]
w = {f: json.load(open(f"{d}/w{f}.json")) for f in (192, 768)}
fc = json.load(open(f"{d}/fc.json"))
med = lambda xs: statistics.median(xs)
for f, r in w.items():
    print(f"denoise {f} frames: {r['runs'][0]['windows']} windows of {r['window']['Frames']} overlapping {r['window']['Overlap']}, "
          f"per frame {med([x['denoise_per_frame_s'] for x in r['runs']]):.4f} s (runs {[round(x['denoise_s'], 2) for x in r['runs']]} s), "
          f"peak RSS {r['peak_rss_bytes'] / 2**20:.1f} MiB")
first = {f: med([x['first_chunk_s'] for x in fc['runs'] if x['frames'] == f]) for f in (48, 768)}
for f in (48, 768):
    rs = [x for x in fc['runs'] if x['frames'] == f]
    print(f"submit -> first latent chunk, {f} frames: {first[f]:.3f} s (runs {[round(x['first_chunk_s'], 3) for x in rs]}; "
          f"last chunk {med([x['last_chunk_s'] for x in rs]):.2f} s, done {med([x['done_s'] for x in rs]):.2f} s)")
rss = w[768]['peak_rss_bytes'] / w[192]['peak_rss_bytes']
pf = med([x['denoise_per_frame_s'] for x in w[768]['runs']]) / med([x['denoise_per_frame_s'] for x in w[192]['runs']])
fr = first[768] / first[48]
print(f"peak RSS 768/192: {rss:.3f} (target <= 1.25) {'ok' if rss <= 1.25 else 'MISSED'}")
print(f"time per frame 768/192: {pf:.3f} (target <= 1.2) {'ok' if pf <= 1.2 else 'MISSED'}")
print(f"first latent chunk 768/48: {fr:.3f} (target <= 1.5) {'ok' if fr <= 1.5 else 'MISSED'}")
PY
