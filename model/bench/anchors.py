"""Driver of anchors.sh: runs the Go engine and its anchors (PyTorch at its best here, ONNX
Runtime) alternated, round after round, so that the other jobs on this shared machine load
every engine alike, then prints the medians and the ratios the speed targets are about.

Each round, in this order: the micro-kernel peaks (two copies of BenchmarkMicroKernel at
once, one per core: the float32 kernel, and the BF16 one of the FP8 linears where the CPU
has AVX512-BF16), one batched DiT forward (Go FP8 and float32 at GOMAXPROCS 2, Go FP8 at
GOMAXPROCS 1, ONNX Runtime, PyTorch), one VAE chunk (Go, PyTorch with oneDNN, ONNX Runtime),
self-attention at 768 frames (Go), and whole 48-frame generations (reel bench FP8 and
float32, PyTorch). One process per measurement; GOMAXPROCS is set per process, since
`go test -cpu 1,2` in one process was seen to run its "1" benchmark on both cores here.

usage: anchors.py --cache DIR --openblas LIBDIR [--rounds N] [--json FILE]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading

ap = argparse.ArgumentParser()
ap.add_argument("--cache", required=True)
ap.add_argument("--openblas", required=True)
ap.add_argument("--rounds", type=int, default=5)
ap.add_argument("--json")
args = ap.parse_args()

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
cache = os.path.abspath(args.cache)
reel, model_test, kernels_test = (os.path.join(cache, n) for n in ("reel", "model.test", "kernels.test"))
bf16_dit = os.path.join(root, "model/testdata/reel-tiny.dit.bf16.safetensors")
onnx_dir = os.path.join(cache, "onnx")
torch_env = dict(os.environ, LD_LIBRARY_PATH=args.openblas, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="2",
                 OPENBLAS_CORETYPE=os.environ.get("OPENBLAS_CORETYPE", "SkylakeX"), OPENBLAS_VERBOSE="2",
                 OMP_WAIT_POLICY="ACTIVE" if os.environ.get("ANCHOR_SPIN") == "1" else "PASSIVE")
samples = {}  # metric -> [value per round]
notes = {}


def add(metric, v):
    samples.setdefault(metric, []).append(v)
    print(f"  {metric}: {v:.4g}", flush=True)


def run(cmd, env=None, cwd=None):
    p = subprocess.run(cmd, env=env, cwd=cwd or root, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p.stdout, p.stderr


def gobench(binary, pattern, n, procs):
    out, _ = run([binary, "-test.run", "^$", "-test.bench", pattern, "-test.benchtime", f"{n}x"],
                 env=dict(os.environ, GOMAXPROCS=str(procs)),
                 cwd=os.path.join(root, "model" if binary == model_test else "model/kernels"))
    res = {}
    for line in out.splitlines():
        m = re.match(r"(Benchmark\S+?)(-\d+)?\s+\d+\s+([\d.]+) ns/op(.*)", line)
        if m:
            g = re.search(r"([\d.]+) GFLOP/s", m.group(4))
            res[m.group(1)] = (float(m.group(3)) / 1e9, float(g.group(1)) if g else None)
    return res


def last_json(out):
    return json.loads(out.strip().splitlines()[-1])


def peak(kernel="avx512-6x32"):
    """Two single-core copies of a micro-kernel's benchmark at once: its two-core peak."""
    got = []

    def one():
        got.append(gobench(kernels_test, f"MicroKernel/{kernel}$", 2000000, 1)[f"BenchmarkMicroKernel/{kernel}"][1])
    ts = [threading.Thread(target=one) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(got)


def torch_anchor(what, runs):
    out, err = run(["/usr/bin/python3", os.path.join(here, "pytorch_anchor.py"), what, "--runs", str(runs)], env=torch_env)
    core = re.search(r"Core: (\S+)", err)
    notes["openblas_core"] = core.group(1) if core else "not reported"
    return last_json(out)["runs"]


def ort_anchor(what, runs):
    out, _ = run(["node", os.path.join(here, "onnx", "run.mjs"), what, onnx_dir, str(runs)])
    j = last_json(out)
    notes["onnxruntime"] = j["version"]
    return j["runs"]


def reel_bench(*extra):
    out, _ = run([reel, "bench", "--runs", "1", "--json", *extra], env=dict(os.environ, GOMAXPROCS="2"))
    j = json.loads(out)
    return j["runs"][0], j["peak_rss_bytes"]


def dit_flops(d=256, layers=6, heads=4, n=192, b=2, m=96, pin=32):
    """FLOPs of one batched forward as the Go engine computes it (block 0's self-attention
    once for both sequences; text K/V outside the step): (total, of which in the blocks'
    FP8 linears, which run on the BF16 kernel where the CPU has it)."""
    rows = b * n
    f = 2 * n * pin * d + 2 * rows * d * pin  # patch embed, proj_out
    lin = 0
    for i in range(layers):
        sr = n if i == 0 else rows
        lin += 2 * sr * d * 3 * d + 2 * sr * d * d  # qkv, out1
        f += (1 if i == 0 else b) * 4 * n * n * d  # self-attention QK and PV
        lin += 2 * rows * d * d * 2  # q2, out2
        f += b * 4 * n * m * d  # cross-attention
        lin += 2 * rows * d * 4 * d * 2  # fc1, fc2
    return f + lin, lin


# The FP8 linears' kernel where the CPU has AVX512-BF16 (model/kernels/bf16.go).
has_bf16 = "avx512bf16" in run([kernels_test, "-test.run", "^$", "-test.bench", "MicroKernel", "-test.benchtime", "1x"])[0]
uptimes = [run(["uptime"])[0].strip()]
for r in range(args.rounds):
    print(f"round {r + 1}/{args.rounds}", flush=True)
    add("peak_gflops", peak())
    if has_bf16:
        add("peak_bf16_gflops", peak("avx512bf16-6x32"))
    g = gobench(model_test, "DiTStep", 20, 2)
    add("dit_go_fp8_s", g["BenchmarkDiTStep/fp8"][0])
    add("dit_go_f32_s", g["BenchmarkDiTStep/f32"][0])
    add("dit_go_fp8_1core_s", gobench(model_test, "DiTStep/fp8", 10, 1)["BenchmarkDiTStep/fp8"][0])
    add("dit_ort_s", statistics.median(ort_anchor("dit", 10)))
    add("dit_torch_s", statistics.median(torch_anchor("dit", 10)))
    add("vae_go_s", gobench(model_test, "DecodeChunk", 20, 2)["BenchmarkDecodeChunk"][0])
    add("vae_go_1core_s", gobench(model_test, "DecodeChunk", 10, 1)["BenchmarkDecodeChunk"][0])
    add("vae_torch_s", statistics.median(torch_anchor("vae", 10)))
    add("vae_ort_s", statistics.median(ort_anchor("vae", 10)))
    add("attn3072_go_gflops", gobench(kernels_test, "Attention/self3072$", 5, 2)["BenchmarkAttention/self3072"][1])
    for name, extra in (("fp8", ()), ("f32", ("--dit", bf16_dit))):
        run_, rss = reel_bench(*extra)
        for k, v in run_.items():
            add(f"gen_go_{name}_{k}", v)
        add(f"gen_go_{name}_rss_mib", rss / 2**20)
    for k, v in torch_anchor("generate", 1)[0].items():
        add(f"gen_torch_{k}", v)
uptimes.append(run(["uptime"])[0].strip())

med = {k: statistics.median(v) for k, v in samples.items()}
# The best round of each: on this shared machine the other jobs' load comes in bursts, and
# the best of several alternated rounds is the nearest to an unloaded machine (throughputs:
# the largest value is the best).
best = {k: (max(v) if k.endswith("gflops") else min(v)) for k, v in samples.items()}
print("\nover", args.rounds, "alternated rounds: median, best, [every round]")
print("  uptime before:", uptimes[0])
print("  uptime after: ", uptimes[1])
print("  OpenBLAS core:", notes.get("openblas_core"), " onnxruntime-node:", notes.get("onnxruntime"),
      " anchors' thread pools:", torch_env["OMP_WAIT_POLICY"].lower(), "waiting")
for k in sorted(med):
    print(f"  {k:28s} {med[k]:10.4f} {best[k]:10.4f}   [{' '.join(f'{x:.4g}' for x in samples[k])}]")
flops, lin_flops = dit_flops()


def at_peaks(m):
    """Seconds one forward would take with every FP8 linear at the BF16 kernel's two-core
    peak (where there is one) and everything else at the float32 kernel's."""
    if not has_bf16:
        return flops / 1e9 / m["peak_gflops"]
    return lin_flops / 1e9 / m["peak_bf16_gflops"] + (flops - lin_flops) / 1e9 / m["peak_gflops"]


def ratios_of(m):
    return [
        ("whole 48-frame generation, Go FP8 / PyTorch (target <= 0.5)", m["gen_go_fp8_total_s"] / m["gen_torch_total_s"]),
        ("whole 48-frame generation, Go float32 / PyTorch", m["gen_go_f32_total_s"] / m["gen_torch_total_s"]),
        ("batched DiT forward, Go FP8 / ONNX Runtime (target <= 0.7)", m["dit_go_fp8_s"] / m["dit_ort_s"]),
        ("batched DiT forward, Go float32 / ONNX Runtime", m["dit_go_f32_s"] / m["dit_ort_s"]),
        ("batched DiT forward, Go FP8 / PyTorch", m["dit_go_fp8_s"] / m["dit_torch_s"]),
        ("VAE chunk, Go / PyTorch oneDNN (target <= 0.8)", m["vae_go_s"] / m["vae_torch_s"]),
        ("VAE chunk, Go / ONNX Runtime", m["vae_go_s"] / m["vae_ort_s"]),
        ("DiT step 2 cores vs 1, Go FP8 (target >= 1.7)", m["dit_go_fp8_1core_s"] / m["dit_go_fp8_s"]),
        ("VAE chunk 2 cores vs 1, Go", m["vae_go_1core_s"] / m["vae_go_s"]),
        ("FP8 / float32, DiT step (target <= 1.05)", m["dit_go_fp8_s"] / m["dit_go_f32_s"]),
        ("FP8 / float32, whole generation", m["gen_go_fp8_total_s"] / m["gen_go_f32_total_s"]),
        ("denoise GFLOP/s / two-core peak (target >= 0.6)",
         flops * 30 / m["gen_go_fp8_steps_s"] / 1e9 / m["peak_gflops"]),
        ("DiT step (benchmark) GFLOP/s / two-core peak", flops / m["dit_go_fp8_s"] / 1e9 / m["peak_gflops"]),
        ("denoise / the kernels' peaks (BF16 linears, float32 rest)", at_peaks(m) * 30 / m["gen_go_fp8_steps_s"]),
        ("attention at 768 frames / two-core peak (target >= 0.5)", m["attn3072_go_gflops"] / m["peak_gflops"]),
    ]


ratios, best_ratios = ratios_of(med), ratios_of(best)
print(f"\nratios of the medians and of the best rounds (DiT forward = {flops / 1e9:.3f} GFLOP as Go computes it, "
      f"{lin_flops / 1e9:.3f} of it in the FP8 linears)")
for (name, v), (_, b) in zip(ratios, best_ratios):
    print(f"  {name:62s} {v:6.3f} {b:6.3f}")
if args.json:
    with open(args.json, "w") as f:
        json.dump({"samples": samples, "medians": med, "best": best, "ratios": dict(ratios),
                   "best_ratios": dict(best_ratios), "uptime": uptimes, "notes": notes}, f, indent=1)
