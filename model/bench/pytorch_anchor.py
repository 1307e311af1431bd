"""PyTorch anchor of the engine benchmarks (anchors.sh runs it beside the Go engine):
the reference model (reel_tiny.py, BF16 weights widened to float32) configured the way a
careful user would run it on this 2-core CPU, so the comparison is fair.

- Text encoder and DiT: 1 torch (OpenMP) thread, OpenBLAS with 2 threads doing the GEMMs.
  The environment must say so before torch loads: OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=2
  and OPENBLAS_CORETYPE (anchors.sh sets them and puts an OpenBLAS on LD_LIBRARY_PATH; the
  kernel OpenBLAS picked is printed with OPENBLAS_VERBOSE=2). Prompt and negative prompt
  are encoded in one batch, and every step is one DiT forward over the batch of both
  (as the Go engine does), not the two forwards of reel_tiny.sample.
- VAE decoder: every Conv3d through oneDNN (torch.mkldnn_convolution; PyTorch's own
  heuristic picks its slow im2col path at batch 1) with 2 torch threads.
- anchors.sh also sets OMP_WAIT_POLICY=PASSIVE: on this shared machine OpenMP's default
  busy-waiting made the VAE 10-40x slower whenever other jobs ran.

usage: /usr/bin/python3 pytorch_anchor.py {generate,dit,vae} [--runs N] [--refmodel DIR]
Prints one line per run and, last, one JSON line {"what":..., "runs":[seconds...]}
(generate: {"runs":[{"text_s","steps_s","decode_s","total_s"}...]}).
"""
import argparse
import json
import os
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("what", choices=["generate", "dit", "vae"])
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--frames", type=int, default=48)
ap.add_argument("--steps", type=int, default=30)
ap.add_argument("--refmodel", default="/work/shared/refmodel")
ap.add_argument("--prompt", default="a red circle moving right")
args = ap.parse_args()

sys.path.insert(0, args.refmodel)
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import reel_tiny as rt  # noqa: E402

GEMM_THREADS, CONV_THREADS = 1, 2  # torch threads: BLAS threads come from the environment
torch.set_num_threads(GEMM_THREADS)

w = {}
for part in ("text", "dit", "vae"):
    w.update(rt.load_safetensors(os.path.join(args.refmodel, f"reel-tiny.{part}.bf16.safetensors")))
text, dit, dec = rt.TextEncoder(), rt.DiT(), rt.Decoder()
for prefix, mod in (("text.", text), ("dit.", dit), ("vae.decoder.", dec)):
    mod.load_state_dict({k[len(prefix):]: v.float() for k, v in w.items() if k.startswith(prefix)}, strict=True)
    mod.eval()
mean, std = w["vae.latent_mean"].float(), w["vae.latent_std"].float()
del w


def mkldnn_forward(conv):
    def forward(x):
        return torch.mkldnn_convolution(x, conv.weight, conv.bias, conv.padding, conv.stride, conv.dilation, conv.groups)
    return forward


for m in dec.modules():
    if isinstance(m, torch.nn.Conv3d):
        m.forward = mkldnn_forward(m)


def encode_texts():
    ids, mask = rt.tokenize(args.prompt)
    nids, nmask = rt.tokenize("")
    ids, mask = torch.tensor([ids, nids]), torch.tensor([mask, nmask])
    return text(ids, mask), mask


def sample_batched(ctx, mask, noise, steps, cfg=5.0, shift=3.0):
    """reel_tiny.sample with prompt and negative in one forward per step."""
    x = noise.clone()
    sig = rt.sigma_schedule(steps, shift)
    for i in range(steps):
        s = torch.full((2,), float(sig[i]))
        v = dit(torch.cat([x, x]), s, ctx, mask)
        vc, vu = v[:1], v[1:]
        x = x + (vu + cfg * (vc - vu)) * float(sig[i + 1] - sig[i])
    return x


def decode(z):
    torch.set_num_threads(CONV_THREADS)
    try:
        return rt.decode_video(dec, z)
    finally:
        torch.set_num_threads(GEMM_THREADS)


def generate(seed, steps):
    t0 = time.perf_counter()
    ctx, mask = encode_texts()
    t1 = time.perf_counter()
    noise = torch.randn((1, 8, args.frames // 4, 8, 8), generator=torch.Generator().manual_seed(seed))
    z = sample_batched(ctx, mask, noise, steps)
    t2 = time.perf_counter()
    zl = z * std[None, :, None, None, None] + mean[None, :, None, None, None]
    vid = decode(zl)
    rgb = ((vid.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)  # as ToRGB24
    t3 = time.perf_counter()
    assert rgb.shape == (1, 3, args.frames, 64, 64)
    return {"text_s": t1 - t0, "steps_s": t2 - t1, "decode_s": t3 - t2, "total_s": t3 - t0}


def timed(fn, runs):
    fn()  # warm-up (allocator, thread pools, oneDNN primitives)
    out = []
    for r in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
        print(f"pytorch {args.what} run {r}: {out[-1] * 1e3:.2f} ms", flush=True)
    return out


with torch.no_grad():
    if args.what == "generate":
        generate(0, 1)
        runs = []
        for r in range(args.runs):
            runs.append(generate(r + 1, args.steps))
            print("pytorch generate run %d: %s" % (r, " ".join(f"{k} {v:.3f}" for k, v in runs[-1].items())), flush=True)
    elif args.what == "dit":
        ctx, mask = encode_texts()
        z = torch.randn((2, 8, args.frames // 4, 8, 8), generator=torch.Generator().manual_seed(1))
        s = torch.full((2,), 0.5)
        runs = timed(lambda: dit(z, s, ctx, mask), args.runs)
    else:
        # One thread setting for the whole measurement: switching the OpenMP pool's size
        # on every call (as decode does, once per generation) costs more than a chunk.
        z = torch.randn((1, 8, 4, 8, 8), generator=torch.Generator().manual_seed(1))
        torch.set_num_threads(CONV_THREADS)
        runs = timed(lambda: rt.decode_video(dec, z), args.runs)
print(json.dumps({"what": args.what, "engine": "pytorch", "torch": torch.__version__,
                  "threads": {"torch": GEMM_THREADS, "conv": CONV_THREADS,
                              "openblas": os.environ.get("OPENBLAS_NUM_THREADS"),
                              "coretype": os.environ.get("OPENBLAS_CORETYPE")},
                  "runs": runs}))
