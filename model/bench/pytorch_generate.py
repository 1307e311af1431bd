"""Whole 48-frame generation with the PyTorch reference model (reel_tiny.py), for the
side-by-side benchmark in run.sh: encode prompt + negative "", 30 flow-matching steps with
guidance 5 and shift 3, decode the 3 latent chunks. BF16 weights widened to float32,
float32 arithmetic on the CPU, torch.set_num_threads(THREADS).

usage: /usr/bin/python3 pytorch_generate.py [--runs N] [--threads 2] [--refmodel DIR]
Prints one line per run and a final "pytorch median ..." line.
"""
import argparse
import os
import statistics
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--runs", type=int, default=3)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--refmodel", default="/work/shared/refmodel")
ap.add_argument("--prompt", default="a red circle moving right")
args = ap.parse_args()

sys.path.insert(0, args.refmodel)
import torch  # noqa: E402
import reel_tiny as rt  # noqa: E402

torch.set_num_threads(args.threads)
w = {}
for part in ("text", "dit", "vae"):
    w.update(rt.load_safetensors(os.path.join(args.refmodel, f"reel-tiny.{part}.bf16.safetensors")))
text, dit, dec = rt.TextEncoder(), rt.DiT(), rt.Decoder()
for prefix, mod in (("text.", text), ("dit.", dit), ("vae.decoder.", dec)):
    mod.load_state_dict({k[len(prefix):]: v for k, v in w.items() if k.startswith(prefix)}, strict=True)
    mod.eval()
mean, std = w["vae.latent_mean"], w["vae.latent_std"]
del w


def generate(seed, steps=30):
    t0 = time.perf_counter()
    ids, mask = rt.tokenize(args.prompt)
    nids, nmask = rt.tokenize("")
    ids, mask, nids, nmask = (torch.tensor([x]) for x in (ids, mask, nids, nmask))
    cond, uncond = text(ids, mask), text(nids, nmask)
    t1 = time.perf_counter()
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn((1, 8, 12, 8, 8), generator=g)
    z = rt.sample(dit, cond, mask, uncond, nmask, noise, steps, 5.0, 3.0)
    t2 = time.perf_counter()
    zl = z * std[None, :, None, None, None] + mean[None, :, None, None, None]
    vid = rt.decode_video(dec, zl)
    t3 = time.perf_counter()
    assert vid.shape == (1, 3, 48, 64, 64)
    return t1 - t0, t2 - t1, t3 - t2, t3 - t0


with torch.no_grad():
    generate(0, steps=1)  # warm-up (allocator, thread pool, oneDNN primitives)
    totals = []
    for r in range(args.runs):
        te, sa, de, tot = generate(r + 1)
        totals.append(tot)
        print(f"pytorch run {r}: text {te:.3f}s sample {sa:.3f}s decode {de:.3f}s total {tot:.3f}s", flush=True)
print(f"pytorch median total {statistics.median(totals):.3f}s over {args.runs} runs, threads {args.threads}, torch {torch.__version__}")
