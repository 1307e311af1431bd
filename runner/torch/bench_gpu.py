#!/usr/bin/env python3
"""GPU measurements for the bundled runner (issue 10), one script to run once on a GPU:

  1. the DiT with FP8 GEMMs vs dequantised BF16: cosine of the 20-step latent, time per DiT
     step (cond+uncond batch), torch.cuda.max_memory_allocated;
  2. the OOM reel exists for, at Step-Video-T2V's scale with reel-tiny's convolutional VAE:
     decode a latent for 544x992 px x 204 frames in one call (under a memory cap, so it cannot
     take the whole card) vs chunk by chunk, peak GPU memory of each.

  python3 runner/torch/bench_gpu.py --device cuda:0 --weights-dir DIR   # DIR: the three files
  python3 runner/torch/bench_gpu.py --smoke                              # tiny CPU run of every path
DIR holds dit.fp8.safetensors, text.bf16.safetensors and vae.bf16.safetensors (model/weights).
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from engine import ReelTiny  # noqa: E402


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def reset_peak(dev):
    if dev.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(dev)


def peak(dev):
    return torch.cuda.max_memory_allocated(dev) if dev.type == "cuda" else 0


def gib(b):
    return f"{b / 2**30:.2f} GiB"


def sample_run(e, prompt, noise, steps):
    dev = e.device
    cond, uncond = e.encode_text(prompt), e.encode_text("")
    times = []
    last = [time.perf_counter()]

    def progress(i, n):
        sync(dev)
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now
    reset_peak(dev)
    sync(dev)
    last[0] = time.perf_counter()
    z = e.sample(cond, uncond, noise, steps, 5.0, 3.0, progress, lambda: False)
    step = sorted(times[1:] or times)[len(times[1:] or times) // 2]  # median, first step is warm-up
    return z, step, peak(dev)


def decode_chunked(dec, z, lf, dev, dtype):
    for i in range(0, z.shape[2], lf):
        dec(z[:, :, i:i + lf].to(dtype)).float().cpu()
        sync(dev)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda:0")
    ap.add_argument("--weights-dir", default=os.path.join(os.path.dirname(__file__), "..", "..", "model", "weights"))
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--vae-height", type=int, default=544)
    ap.add_argument("--vae-width", type=int, default=992)
    ap.add_argument("--vae-frames", type=int, default=204)
    ap.add_argument("--one-call-cap", type=float, default=0.5, help="fraction of the GPU the one-call decode may use")
    ap.add_argument("--smoke", action="store_true", help="CPU, 2 steps, 64x64x8 frames: checks the code paths")
    a = ap.parse_args()
    if a.smoke:
        a.device, a.steps, a.frames, a.vae_height, a.vae_width, a.vae_frames = "cpu", 2, 16, 64, 64, 8
    dev = torch.device(a.device)
    w = {k: os.path.join(a.weights_dir, f) for k, f in
         (("dit", "dit.fp8.safetensors"), ("text", "text.bf16.safetensors"), ("vae", "vae.bf16.safetensors"))}
    print(f"torch {torch.__version__}, device {dev}" +
          (f" ({torch.cuda.get_device_name(dev)}, capability {torch.cuda.get_device_capability(dev)})"
           if dev.type == "cuda" else ""))

    # 1. FP8 GEMMs vs dequantised BF16
    g = torch.Generator().manual_seed(7)
    c = None
    res = {}
    for mode in ("on", "off"):
        try:
            e = ReelTiny(w, a.device, fp8=mode if dev.type == "cuda" else "auto")
        except RuntimeError as err:
            print(f"fp8={mode}: unavailable: {err}")
            continue
        c = e.cfg
        if "noise" not in res:
            T = a.frames // c["frames_per_chunk"] * c["latent_frames_per_chunk"]
            res["noise"] = torch.randn(c["latent_channels"], T, 8, 8, generator=g)
        z, step, mem = sample_run(e, "a red circle moving right", res["noise"], a.steps)
        res[mode] = z
        print(f"DiT fp8={mode:3s} ({e.fp8_reason}): {a.steps} steps x {a.frames} frames, "
              f"median {step * 1e3:.1f} ms/step, max_memory_allocated {gib(mem)}")
        del e
    if "on" in res and "off" in res:
        cos = torch.nn.functional.cosine_similarity(res["on"].flatten(), res["off"].flatten(), dim=0).item()
        print(f"cosine(latent fp8, latent bf16) = {cos:.5f}  (want >= 0.99)")

    # 2. VAE decode at 544x992 x 204 frames: one call vs chunk by chunk
    e = ReelTiny(w, a.device, fp8="off" if dev.type == "cuda" else "auto")
    c = e.cfg
    s, lf = c["spatial_compression"], c["latent_frames_per_chunk"]
    T = -(-a.vae_frames // c["temporal_compression"])
    z = torch.randn(1, c["latent_channels"], T, a.vae_height // s, a.vae_width // s, generator=g).to(dev)
    print(f"VAE latent {list(z.shape)} -> {T * c['temporal_compression']} frames of {a.vae_width}x{a.vae_height}")
    with torch.no_grad():
        reset_peak(dev)
        t0 = time.perf_counter()
        decode_chunked(e.dec, z, lf, dev, e.dtype)
        print(f"chunk by chunk ({lf} latent frames): peak {gib(peak(dev))}, {time.perf_counter() - t0:.2f} s")
        reset_peak(dev)
        if dev.type == "cuda":
            torch.cuda.set_per_process_memory_fraction(a.one_call_cap, dev)
            cap = a.one_call_cap * torch.cuda.get_device_properties(dev).total_memory
        t0 = time.perf_counter()
        try:
            e.dec(z.to(e.dtype)).float().cpu()
            sync(dev)
            print(f"one call: peak {gib(peak(dev))}, {time.perf_counter() - t0:.2f} s")
        except RuntimeError as err:
            if "out of memory" not in str(err):
                raise
            print(f"one call: OUT OF MEMORY under a cap of {gib(cap)} (peak before failing {gib(peak(dev))})")


if __name__ == "__main__":
    main()
