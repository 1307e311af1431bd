"""Extra test vectors for the Go engine at the production size, which the shipped test
vectors (32 frames, 20 steps) do not cover: 48 frames (12 latent frames, so RoPE time
positions up to 11), 30 steps, guidance 5, shift 3, negative prompt "". BF16 weights
widened to float32, float32 on the CPU, as reel_tiny.py export does.

usage: /usr/bin/python3 model/bench/pytorch_vectors48.py [OUT]
       (default OUT: model/testdata/reel-tiny.gen48.safetensors)
"""
import os
import sys

sys.path.insert(0, "/work/shared/refmodel")
import torch  # noqa: E402
import reel_tiny as rt  # noqa: E402

REF = "/work/shared/refmodel"
PROMPT = "a blue square moving up on a white background"
out = sys.argv[1] if len(sys.argv) > 1 else "model/testdata/reel-tiny.gen48.safetensors"

torch.set_num_threads(2)
w = {}
for part in ("text", "dit"):
    w.update(rt.load_safetensors(os.path.join(REF, f"reel-tiny.{part}.bf16.safetensors")))
text, dit = rt.TextEncoder(), rt.DiT()
for prefix, mod in (("text.", text), ("dit.", dit)):
    mod.load_state_dict({k[len(prefix):]: v for k, v in w.items() if k.startswith(prefix)}, strict=True)
    mod.eval()
with torch.no_grad():
    ids, mask = rt.tokenize(PROMPT)
    nids, nmask = rt.tokenize("")
    ids, mask, nids, nmask = (torch.tensor([x]) for x in (ids, mask, nids, nmask))
    noise = torch.randn((1, 8, 12, 8, 8), generator=torch.Generator().manual_seed(42))
    z = rt.sample(dit, text(ids, mask), mask, text(nids, nmask), nmask, noise, 30, 5.0, 3.0)
rt.save_safetensors(out, {"gen48.noise": noise[0], "gen48.latent": z[0]},
                    {"gen48": f"prompt {PROMPT!r}, negative '', 48 frames, steps 30, cfg 5.0, shift 3.0",
                     "made_by": "model/bench/pytorch_vectors48.py"})
print("wrote", out)
