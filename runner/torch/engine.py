"""ReelTiny: loads the reel-tiny checkpoints onto a device and runs the runner's three calls."""
import hashlib
import logging

import torch
import torch.nn.functional as F

import reeltiny
from checkpoint import Checkpoint

log = logging.getLogger("reel.runner")

# The longest video (bus/protocol.MaxFrames): 48 chunks, sampled as windows.
MAX_FRAMES = 768

# The models of a checkpoint set (bus/protocol.Models), in digest order.
MODELS = ("text", "dit", "vae")


class BadInput(ValueError):
    """A call's arguments are wrong: retrying cannot help (protocol error kind bad_input)."""


class Cancelled(Exception):
    """The call was cancelled by a cancel request (protocol error kind cancelled)."""


def fp8_supported(device):
    """(ok, reason): can this device run torch._scaled_mm with E4M3 operands?"""
    if device.type != "cuda":
        return False, "not a CUDA device"
    if not hasattr(torch, "float8_e4m3fn") or not hasattr(torch, "_scaled_mm"):
        return False, f"torch {torch.__version__} has no float8_e4m3fn/_scaled_mm"
    cap = torch.cuda.get_device_capability(device)
    if cap < (8, 9):
        return False, f"compute capability {cap[0]}.{cap[1]} < 8.9"
    return True, ""


def fp8_self_test(device):
    """Run one small FP8 GEMM against its dequantised result; raises when _scaled_mm is missing
    the row-wise scaling this runner needs (older torch builds)."""
    g = torch.Generator(device="cpu").manual_seed(0)
    w = torch.randn(64, 32, generator=g)
    scale = w.abs().amax(1) / reeltiny.E4M3_MAX
    codes = (w / scale[:, None]).clamp(-448, 448).to(torch.float8_e4m3fn)
    x = torch.randn(32, 32, generator=g).to(device, torch.bfloat16)
    got = reeltiny.fp8_linear(x, codes.to(device), scale.to(device).view(1, -1)).float()
    want = x.float() @ (codes.float() * scale[:, None]).to(device).t()
    rel = ((got - want).norm() / want.norm()).item()
    if not rel < 0.1:
        raise RuntimeError(f"FP8 GEMM self-test: relative error {rel:.3g}")


def module_bytes(m):
    return sum(t.numel() * t.element_size() for t in list(m.parameters()) + list(m.buffers()))


class ReelTiny:
    """The model on one device. CPU: float32 math on dequantised weights (matches the Go
    engine). CUDA: BF16, with FP8 GEMMs for the DiT block linears where supported."""

    def __init__(self, weights, device, fp8="auto", models=None):
        """models: the models to load among "text", "dit", "vae" (hello's models; None or
        empty: all three). Of a model not loaded, only the checkpoint's header is read (config,
        dtypes) and its bytes are streamed into the digest of all three; a call into it is bad
        input."""
        models = list(models or MODELS)
        bad = [m for m in models if m not in MODELS]
        if bad or len(set(models)) != len(models):
            raise BadInput(f"hello: models {models}: want distinct names among {list(MODELS)}")
        self.models = [m for m in MODELS if m in models]
        self.device = torch.device(device)
        cuda = self.device.type == "cuda"
        self.dtype = torch.bfloat16 if cuda else torch.float32
        missing = [k for k in MODELS if not weights.get(k)]
        if missing:
            raise BadInput(f"hello: weights missing for {', '.join(missing)}")
        # a model not loaded: its header for the config and dtypes, its bytes streamed into
        # the digest, never held
        ck = {k: Checkpoint(weights[k], header_only=k not in self.models) for k in MODELS}
        cfgs = [c.config() for c in ck.values() if c.config() is not None]
        if not cfgs:
            raise BadInput("no checkpoint carries __metadata__.config")
        if any(c != cfgs[0] for c in cfgs):
            raise BadInput("the checkpoints' configs differ")
        self.cfg = c = cfgs[0]
        # "sha256:" of the files' bytes concatenated text, DiT, VAE (protocol.Manifest.Digest)
        h = hashlib.sha256()
        for k in MODELS:
            ck[k].digest_into(h)
        self.digest = "sha256:" + h.hexdigest()
        self.file_bytes = {k: len(v.raw) if v.raw is not None else 0 for k, v in ck.items()}
        self.dit_fp8 = any(ck["dit"].dtype(n) == "F8_E4M3" for n in ck["dit"].names())
        self.fp8 = False
        self.fp8_reason = "CPU: float32 on dequantised weights"
        if "dit" not in self.models:
            self.fp8_reason = "no DiT loaded"
        elif cuda:
            ok, why = fp8_supported(self.device)
            if fp8 == "off":
                ok, why = False, "disabled by --fp8 off"
            if ok:
                try:
                    fp8_self_test(self.device)
                except Exception as e:  # noqa: BLE001 - any failure means: no FP8 here
                    ok, why = False, str(e)
            self.fp8 = ok
            self.fp8_reason = "FP8 GEMMs (torch._scaled_mm)" if ok else why
            if not ok:
                if fp8 == "on":
                    raise RuntimeError(f"--fp8 on: FP8 unavailable: {why}")
                log.warning("FP8 GEMMs unavailable (%s): DiT block linears run dequantised in BF16", why)
        self.text = self.dit = self.dec = None
        if "text" in self.models:
            self.text = self._load(reeltiny.TextEncoder(c), ck["text"], "text.")
        if "dit" in self.models:
            self.dit = self._load(reeltiny.DiT(c), ck["dit"], "dit.")
        if "vae" in self.models:
            self.dec = self._load(reeltiny.Decoder(c), ck["vae"], "vae.decoder.")
            self.latent_mean = ck["vae"].get("vae.latent_mean").to(self.device)
            self.latent_std = ck["vae"].get("vae.latent_std").to(self.device)
        for v in ck.values():
            v.release()
        log.info("loaded %s (%s) on %s (%s, %s; attention %s)", c["name"], "+".join(self.models), self.device,
                 str(self.dtype).replace("torch.", ""), self.fp8_reason,
                 "sdpa" if reeltiny.HAVE_SDPA else "manual")

    def _load(self, module, ck, prefix):
        sd, fp8 = {}, {}
        for name in ck.names():
            if not name.startswith(prefix) or name.endswith("_scale"):
                continue
            key = name[len(prefix):]
            if ck.dtype(name) == "F8_E4M3":
                fp8[key] = (ck.get(name), ck.get(name + "_scale"))
            else:
                sd[key] = ck.get(name)
        res = module.load_state_dict(sd, strict=False)
        if res.unexpected_keys or set(res.missing_keys) != set(fp8):
            raise BadInput(f"{ck.path}: tensors do not match the model: missing "
                           f"{sorted(set(res.missing_keys) - set(fp8))[:5]}, unexpected {res.unexpected_keys[:5]}")
        module = module.to(self.device, self.dtype).eval()
        mode = "fp8" if self.fp8 else "dequant"
        for key, (codes, scale) in fp8.items():
            path = key[: -len(".weight")].split(".")
            parent = module
            for p in path[:-1]:
                parent = getattr(parent, p)
            setattr(parent, path[-1], reeltiny.FP8Linear(codes, scale, mode, self.dtype, self.device))
        return module

    def manifest(self):
        """The model manifest, the shape of reel's bus/protocol.Manifest (the Go engine's
        model.Engine.Manifest); the limits and window defaults are the Go engine's
        (model/manifest.go): the stage samples long videos as guided windows of this runner."""
        c = self.cfg
        s = c["spatial_compression"]
        window = 3 * c["frames_per_chunk"]  # the clip length reel-tiny was trained on
        return {
            "model": c["name"], "checkpoint": c["name"], "digest": self.digest,
            "latent_channels": c["latent_channels"], "latent_height": c["height"] // s,
            "latent_width": c["width"] // s, "latent_frames_per_chunk": c["latent_frames_per_chunk"],
            "frames_per_chunk": c["frames_per_chunk"], "width": c["width"], "height": c["height"],
            "fps": c["fps"], "text_length": c["text_max_len"], "text_dim": c["text_dim"],
            "max_frames": MAX_FRAMES, "window_frames": window, "overlap_frames": 2 * c["frames_per_chunk"],
            "max_steps": 200, "max_guidance": 100.0,
            "defaults": {"frames": window, "steps": 30, "guidance": 5.0, "shift": 3.0},
            # a model not loaded occupies nothing (protocol.Manifest.Resident, Files)
            "resident": {k: module_bytes(m) if m is not None else 0
                         for k, m in (("text", self.text), ("dit", self.dit), ("vae", self.dec))},
            "files": dict(self.file_bytes),
            "fp8": self.dit_fp8,
        }

    def _need(self, model, op):
        if model not in self.models:
            raise BadInput(f"{op} needs the {model} model; this runner loaded {self.models} (hello models)")

    @torch.no_grad()
    def encode_text(self, prompt):
        self._need("text", "encode_text")
        ids, mask = reeltiny.tokenize(prompt, self.cfg)
        ids_t = torch.tensor([ids], device=self.device)
        mask_t = torch.tensor([mask], device=self.device)
        h = self.text(ids_t, mask_t)[0].float().cpu()
        return h, torch.tensor(mask, dtype=torch.uint8)

    @torch.no_grad()
    def sample(self, cond, uncond, noise, steps, guidance, shift, progress, cancelled, guide=None):
        """cond/uncond: (hidden [L,D] f32, mask [L] u8) or uncond None (no guidance);
        noise [C,T,h,w] f32; guide None or a dict of optional known [C,T,h,w] f32 with fixed
        [T] u8, and init [C,T,h,w] f32 with strength (model.Guide: the stage samples long
        videos, extensions and remixes as guided windows). Returns the normalised latent
        [C,T,h,w] f32 on the CPU."""
        self._need("dit", "sample")
        c = self.cfg
        C, lf = c["latent_channels"], c["latent_frames_per_chunk"]
        s = c["spatial_compression"]
        L, D = c["text_max_len"], c["text_dim"]
        if noise.dim() != 4 or noise.shape[0] != C or noise.shape[1] % lf or noise.shape[1] == 0 \
                or noise.shape[2] != c["height"] // s or noise.shape[3] != c["width"] // s:
            raise BadInput(f"noise shape {list(noise.shape)} is not [{C}, 4k, {c['height'] // s}, {c['width'] // s}]")
        if steps < 1:
            raise BadInput(f"steps {steps} < 1")
        if not shift > 0 or shift == float("inf"):
            raise BadInput(f"shift {shift} must be finite and > 0")
        if guidance != guidance or abs(guidance) == float("inf"):
            raise BadInput(f"guidance {guidance} must be finite")
        texts = [cond] if uncond is None else [cond, uncond]
        for name, (hid, m) in zip(("prompt", "negative prompt"), texts):
            if tuple(hid.shape) != (L, D) or tuple(m.shape) != (L,):
                raise BadInput(f"{name} embedding shapes {list(hid.shape)}, {list(m.shape)}, want [{L}, {D}], [{L}]")
            if int(m.sum()) == 0:
                raise BadInput(f"{name} embedding masks every token")
        hid = torch.stack([t[0] for t in texts]).to(self.device, self.dtype)
        mask = torch.stack([t[1] for t in texts]).to(self.device)
        ctx = self.dit.prepare_text(hid)
        T = noise.shape[1]
        rope = reeltiny.rope_tables(T, noise.shape[2] // 2, noise.shape[3] // 2, c["rope_split"],
                                    c["rope_base"], self.device)
        B = len(texts)
        eps = noise.to(self.device, torch.float32)
        x = eps[None].clone()
        sig = reeltiny.sigma_schedule(steps, shift)
        known, fixed = self._guide(guide, noise.shape)
        if guide is not None and guide.get("init") is not None:
            # model.truncateSchedule and model.blend: start at sigma strength from the init.
            s = float(guide["strength"])
            s32 = torch.tensor(s, dtype=torch.float32)
            sig = torch.cat([s32[None], sig[sig < s32]])
            init = guide["init"].to(self.device, torch.float32)
            x = ((init * (1 - s)) + (eps * s))[None]
        steps = len(sig) - 1
        g = float(guidance)
        for i in range(steps):
            if cancelled():
                raise Cancelled(f"cancelled before step {i + 1}/{steps}")
            if fixed is not None:  # model.noiseKnown: known frames noised to this step's sigma
                si = float(sig[i])
                x[0][:, fixed] = known[:, fixed] * (1 - si) + eps[:, fixed] * si
            sg = torch.full((B,), float(sig[i]), device=self.device)
            v = self.dit(x.expand(B, -1, -1, -1, -1).to(self.dtype), sg, ctx, mask, rope).float()
            if B == 2:
                vc, vu = v[0:1], v[1:2]
                v = vu + g * (vc - vu)
            x = x + v * float(sig[i + 1] - sig[i])
            progress(i + 1, steps)
        if fixed is not None:
            x[0][:, fixed] = known[:, fixed]  # set exactly at the end
        return x[0].cpu()

    def _guide(self, guide, shape):
        """Checks a sample's guide against the noise shape [C,T,h,w]; returns (known on the
        device, fixed as a bool index [T]) or (None, None)."""
        if guide is None:
            return None, None
        init, strength = guide.get("init"), guide.get("strength", 0.0)
        if init is not None:
            if tuple(init.shape) != tuple(shape):
                raise BadInput(f"guide.init shape {list(init.shape)}, want {list(shape)}")
            if not (0 < float(strength) <= 1):
                raise BadInput(f"guide.strength {strength} is outside (0, 1]")
        known, fixed = guide.get("known"), guide.get("fixed")
        if (known is None) != (fixed is None):
            raise BadInput("guide: known and fixed go together")
        if known is None:
            return None, None
        if tuple(known.shape) != tuple(shape) or tuple(fixed.shape) != (shape[1],):
            raise BadInput(f"guide.known {list(known.shape)} / fixed {list(fixed.shape)}, want {list(shape)} / [{shape[1]}]")
        mask = fixed.to(torch.bool)
        if not bool(mask.any()):
            return None, None
        return known.to(self.device, torch.float32), mask.to(self.device)

    @torch.no_grad()
    def decode_chunk(self, latent):
        """Normalised latent chunk [C, lf, h, w] f32 -> RGB24 frames [F, H, W, 3] u8."""
        self._need("vae", "decode_chunk")
        c = self.cfg
        s = c["spatial_compression"]
        want = (c["latent_channels"], c["latent_frames_per_chunk"], c["height"] // s, c["width"] // s)
        if tuple(latent.shape) != want:
            raise BadInput(f"latent chunk shape {list(latent.shape)}, want {list(want)}")
        z = latent.to(self.device, torch.float32)
        z = z * self.latent_std[:, None, None, None] + self.latent_mean[:, None, None, None]
        vid = self.dec(z[None].to(self.dtype))[0].float()
        vid = torch.nan_to_num(vid, nan=-1.0)  # as model.ToRGB24: NaN is black
        px = ((vid.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        return px.permute(1, 2, 3, 0).contiguous().cpu()
