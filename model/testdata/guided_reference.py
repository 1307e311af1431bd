"""PyTorch transcription of the Go engine's guided sampling (model.Guide, model.SampleWindows),
run by model's TestTranscriptionMatchesPyTorch on the reference model (reel_tiny.py, BF16
weights widened to float32, float32 arithmetic on the CPU) with the noise and latents the Go
test wrote.

usage: /usr/bin/python3 guided_reference.py REFMODEL_DIR IN.safetensors OUT.safetensors

IN holds (F32): noise [8,8,8,8], init [8,8,8,8], known [8,8,8,8], fixed [8] (1 = known frame),
wnoise [8,16,8,8] (the windowed video's noise), wide.z [8,4,8,12] (a latent at
96x64), wide.sigma [1]; its metadata names the prompts and settings. OUT holds known.latent,
strength.latent, windows.latent, wide.v, wide.video.
"""
import json
import os
import sys

import torch

refmodel, inp, out = sys.argv[1:4]
sys.path.insert(0, refmodel)
import reel_tiny as rt  # noqa: E402

torch.set_num_threads(2)
w = {}
for part in ("text", "dit", "vae"):
    w.update(rt.load_safetensors(os.path.join(refmodel, f"reel-tiny.{part}.bf16.safetensors")))
text_enc, dit, dec = rt.TextEncoder(), rt.DiT(), rt.Decoder()
for prefix, mod in (("text.", text_enc), ("dit.", dit), ("vae.decoder.", dec)):
    mod.load_state_dict({k[len(prefix):]: v for k, v in w.items() if k.startswith(prefix)}, strict=True)
    mod.eval()
mean, std = w["vae.latent_mean"], w["vae.latent_std"]

x_in = rt.load_safetensors(inp)
with open(inp, "rb") as f:
    n = int.from_bytes(f.read(8), "little")
    meta = json.loads(f.read(n))["__metadata__"]
steps, cfg, shift = int(meta["steps"]), float(meta["guidance"]), float(meta["shift"])


def encode(prompt):
    ids, mask = rt.tokenize(prompt)
    ids, mask = torch.tensor([ids]), torch.tensor([mask])
    return text_enc(ids, mask), mask


def guided(text, noise, known=None, fixed=None, init=None, strength=None, steps=steps):
    """model.(*sampler).run: known frames noised to each step's sigma before the DiT (the same
    noise at every step) and set exactly at the end; strength starts at sigma = s from
    (1 - s) * init + s * noise on the schedule truncated at s."""
    (cond, cmask), (unc, umask) = text
    sig = rt.sigma_schedule(steps, shift)
    x = noise.clone()
    if init is not None:
        s32 = float(torch.tensor(strength, dtype=torch.float32))
        sig = torch.cat([torch.tensor([s32]), sig[sig < s32]])
        x = (1 - strength) * init + strength * noise
    for i in range(len(sig) - 1):
        s = float(sig[i])
        if fixed is not None:
            x[:, :, fixed] = (1 - s) * known[:, :, fixed] + s * noise[:, :, fixed]
        # prompt and negative as one batch of two (per-sample results as two calls)
        vc, vu = dit(torch.cat([x, x]), torch.full((2,), s), torch.cat([cond, unc]), torch.cat([cmask, umask])).chunk(2)
        v = vu + cfg * (vc - vu)
        x = x + v * float(sig[i + 1] - sig[i])
    if fixed is not None:
        x[:, :, fixed] = known[:, :, fixed]
    return x


def plan(t, l, o):
    """model.plan: windows (start, done) of l latent frames, overlap >= o, the last moved back."""
    if t <= l:
        return [(0, 0)]
    ws = [(0, 0)]
    done = l
    while done < t:
        ws.append((min(ws[-1][0] + l - o, t - l), done))
        done = ws[-1][0] + l
    return ws


def windows(text, noise, l, o, anchor):
    """model.SampleWindows: each window a guided sample over its slice of the whole video's noise,
    the frames the previous windows made being known; a window that starts with known frames
    starts its other frames from the last known one at strength anchor."""
    t = noise.shape[2]
    lat = torch.zeros_like(noise)
    for start, done in plan(t, l, o):
        k = done - start
        fixed = torch.tensor([f < k for f in range(l)])
        known = lat[:, :, start:start + l].clone()
        init, strength = None, None
        if 0 < k < l and anchor < 1:
            init = known.clone()
            init[:, :, k:] = known[:, :, k - 1:k]
            strength = anchor
        x = guided(text, noise[:, :, start:start + l].contiguous(), known, fixed, init, strength,
                   steps=int(meta["window_steps"]))
        lat[:, :, start:start + l] = x
    return lat


def b(name):
    return x_in[name][None]


res = {}
with torch.no_grad():
    red = (encode(meta["prompt"]), encode(""))
    blue = (encode(meta["remix_prompt"]), encode(""))
    fixed = x_in["fixed"] > 0.5
    res["known.latent"] = guided(red, b("noise"), b("known"), fixed)[0]
    res["strength.latent"] = guided(blue, b("noise"), init=b("init"), strength=float(meta["strength"]))[0]
    res["windows.latent"] = windows(red, b("wnoise"), int(meta["window"]), int(meta["overlap"]),
                                    float(meta["anchor"]))[0]
    cond, cmask = red[0]
    res["wide.v"] = dit(b("wide.z"), x_in["wide.sigma"], cond, cmask)[0]
    zl = b("wide.z") * std[None, :, None, None, None] + mean[None, :, None, None, None]
    res["wide.video"] = dec(zl)[0]
rt.save_safetensors(out, res, {"by": "guided_reference.py"})
