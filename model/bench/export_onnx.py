"""Exports the reference DiT and VAE decoder (reel_tiny.py, BF16 weights widened to float32)
to ONNX (opset 17) for the ONNX Runtime anchor (onnx/run.mjs, run by anchors.sh).

- dit.onnx: one batched DiT forward, the Go engine's unit of work per step: inputs
  z [2, 8, T, 8, 8] (the same latent twice), sigma [2], text [2, 96, 256] and text_mask
  [2, 96] int64 (prompt and negative prompt); output v [2, 8, T, 8, 8]. T = frames/4,
  fixed at export (the RoPE tables are traced as constants).
- vae.onnx: one chunk, z [1, 8, 4, 8, 8] (de-normalised) -> video [1, 3, 16, 64, 64].

PyTorch 1.13's exporter cannot export a LayerNorm without affine parameters (it emits an
invalid node), so those are given weight 1 and bias 0 first: the same function.

usage: /usr/bin/python3 export_onnx.py OUTDIR [--frames 48] [--refmodel DIR]
"""
import argparse
import os
import sys

ap = argparse.ArgumentParser()
ap.add_argument("outdir")
ap.add_argument("--frames", type=int, default=48)
ap.add_argument("--refmodel", default="/work/shared/refmodel")
args = ap.parse_args()

sys.path.insert(0, args.refmodel)
import torch  # noqa: E402
import reel_tiny as rt  # noqa: E402

w = {}
for part in ("text", "dit", "vae"):
    w.update(rt.load_safetensors(os.path.join(args.refmodel, f"reel-tiny.{part}.bf16.safetensors")))
dit, dec = rt.DiT(), rt.Decoder()
for prefix, mod in (("dit.", dit), ("vae.decoder.", dec)):
    mod.load_state_dict({k[len(prefix):]: v.float() for k, v in w.items() if k.startswith(prefix)}, strict=True)
    mod.eval()

for m in dit.modules():
    if isinstance(m, torch.nn.LayerNorm) and not m.elementwise_affine:
        m.elementwise_affine = True
        m.weight = torch.nn.Parameter(torch.ones(m.normalized_shape))
        m.bias = torch.nn.Parameter(torch.zeros(m.normalized_shape))

os.makedirs(args.outdir, exist_ok=True)
T = args.frames // 4
ids, mask = rt.tokenize("a red circle moving right")
nids, nmask = rt.tokenize("")
text = torch.randn(2, len(ids), 256)
tmask = torch.tensor([mask, nmask], dtype=torch.int64)
z = torch.randn(2, 8, T, 8, 8)
sigma = torch.full((2,), 0.5)
with torch.no_grad():
    torch.onnx.export(dit, (z, sigma, text, tmask), os.path.join(args.outdir, "dit.onnx"), opset_version=17,
                      input_names=["z", "sigma", "text", "text_mask"], output_names=["v"])
    torch.onnx.export(dec, (torch.randn(1, 8, 4, 8, 8),), os.path.join(args.outdir, "vae.onnx"), opset_version=17,
                      input_names=["z"], output_names=["video"])
print(f"exported dit.onnx (T={T}) and vae.onnx to {args.outdir}")
