"""reel-tiny in PyTorch, for the bundled runner.

The layers are copied from the reference specification /work/shared/refmodel/reel_tiny.py
(shared/refmodel in the project tree; "the executable specification of the small model that
the Go engine implements"), trimmed to inference, so that this runner is self-contained in
the repository. Changes from the reference, all numerically neutral on the CPU path:
  - attention uses torch.nn.functional.scaled_dot_product_attention when it exists (2.x);
  - the DiT block linears are FP8Linear (E4M3 codes + per-output-row scales, see below);
  - cond and uncond run as one batch of 2 in the sampler;
  - the latent stays float32 between steps whatever the compute dtype.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from checkpoint import e4m3_table

E4M3_MAX = 448.0


def normalize_prompt(p):
    p = "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in p)
    return " ".join(p.split())


def tokenize(prompt, c):
    max_len = c["text_max_len"]
    b = list(normalize_prompt(prompt).encode("utf-8"))[: max_len - 2]
    ids = [c["text_bos"]] + b + [c["text_eos"]]
    mask = [1] * len(ids) + [0] * (max_len - len(ids))
    ids = ids + [c["text_pad"]] * (max_len - len(ids))
    return ids, mask


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


HAVE_SDPA = hasattr(F, "scaled_dot_product_attention")


def attention(q, k, v, key_mask=None):
    """q,k,v: [B, heads, N, hd]; key_mask: [B, M] (1 keep, 0 drop)."""
    if HAVE_SDPA:
        m = None if key_mask is None else (key_mask[:, None, None, :] != 0)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=m)
    s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    if key_mask is not None:
        s = s.masked_fill(key_mask[:, None, None, :] == 0, float("-inf"))
    return torch.matmul(torch.softmax(s.float(), dim=-1).to(v.dtype), v)


def gelu_tanh(x):
    return F.gelu(x, approximate="tanh")


class TextEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["text_dim"]
        eps = c["norm_eps"]
        self.heads = c["text_heads"]
        self.tok_emb = nn.Embedding(c["text_vocab"], d)
        self.pos_emb = nn.Parameter(torch.zeros(c["text_max_len"], d))
        self.layers = nn.ModuleList()
        for _ in range(c["text_layers"]):
            L = nn.Module()
            L.ln1 = nn.LayerNorm(d, eps=eps)
            L.qkv = nn.Linear(d, 3 * d, bias=False)
            L.out = nn.Linear(d, d, bias=False)
            L.ln2 = nn.LayerNorm(d, eps=eps)
            L.fc1 = nn.Linear(d, 4 * d, bias=False)
            L.fc2 = nn.Linear(4 * d, d, bias=False)
            self.layers.append(L)
        self.ln_f = nn.LayerNorm(d, eps=eps)

    def forward(self, ids, mask):
        B, N = ids.shape
        x = self.tok_emb(ids) + self.pos_emb[None, :N]
        h = self.heads
        for L in self.layers:
            y = L.ln1(x)
            q, k, v = L.qkv(y).view(B, N, 3, h, -1).permute(2, 0, 3, 1, 4)
            a = attention(q, k, v, mask).transpose(1, 2).reshape(B, N, -1)
            x = x + L.out(a)
            x = x + L.fc2(gelu_tanh(L.fc1(L.ln2(x))))
        return self.ln_f(x)


def timestep_embedding(t, dim=256):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = (t.float() * 1000.0)[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def rope_tables(T, H, W, split, base, device):
    coords = torch.stack(torch.meshgrid(
        torch.arange(T, device=device), torch.arange(H, device=device), torch.arange(W, device=device),
        indexing="ij"), dim=-1).reshape(-1, 3).float()
    cos, sin = [], []
    for a, d in enumerate(split):
        freqs = base ** (-torch.arange(0, d, 2, device=device).float() / d)
        ang = coords[:, a:a + 1] * freqs[None]
        cos.append(torch.cat([ang.cos(), ang.cos()], -1))
        sin.append(torch.cat([ang.sin(), ang.sin()], -1))
    return cos, sin


def apply_rope(x, cos, sin, split):
    out, o = [], 0
    for a, d in enumerate(split):
        xs = x[..., o:o + d]
        x1, x2 = xs[..., : d // 2], xs[..., d // 2:]
        rot = torch.cat([-x2, x1], -1)
        out.append(xs * cos[a].to(x.dtype) + rot * sin[a].to(x.dtype))
        o += d
    return torch.cat(out, -1)


class FP8Linear(nn.Module):
    """A bias-free Linear whose weight is E4M3 codes [out, in] with one float32 scale per
    output row (w = decode(code) * scale, the checkpoint's definition).

    mode "dequant": the weight is decoded once to the compute dtype (float32 on the CPU, so
    the result equals the Go engine's, which decodes the same way; BF16 on GPUs without FP8).
    mode "fp8": a true FP8 GEMM, torch._scaled_mm with the E4M3 weight, its per-row scales,
    and per-token activation scales amax/448 (activations quantized to E4M3 on the fly)."""

    def __init__(self, codes, scale, mode, dtype, device):
        super().__init__()
        self.mode = mode
        self.out_features, self.in_features = codes.shape
        if mode == "fp8":
            self.register_buffer("wq", codes.to(device).view(torch.float8_e4m3fn))
            self.register_buffer("ws", scale.float().to(device).view(1, -1))
        else:
            table = torch.from_numpy(e4m3_table())
            w = table[codes.long()] * scale.float()[:, None]
            self.register_buffer("weight", w.to(dtype).to(device))

    def forward(self, x):
        if self.mode != "fp8":
            return F.linear(x, self.weight)
        return fp8_linear(x, self.wq, self.ws)


def fp8_linear(x, wq, ws):
    shape = x.shape
    x2 = x.reshape(-1, shape[-1])
    m = x2.shape[0]
    pad = (-m) % 16  # _scaled_mm wants every dimension a multiple of 16
    if pad:
        x2 = F.pad(x2, (0, 0, 0, pad))
    xf = x2.float()
    sa = (xf.abs().amax(dim=-1, keepdim=True) / E4M3_MAX).clamp(min=1e-12)
    xq = (xf / sa).clamp(-E4M3_MAX, E4M3_MAX).to(torch.float8_e4m3fn)
    r = torch._scaled_mm(xq, wq.t(), scale_a=sa, scale_b=ws, out_dtype=torch.bfloat16)
    if isinstance(r, tuple):  # torch 2.1-2.3 return (out, amax)
        r = r[0]
    return r[:m].to(x.dtype).reshape(*shape[:-1], wq.shape[0])


class DiTBlock(nn.Module):
    def __init__(self, d, heads, eps):
        super().__init__()
        hd = d // heads
        self.heads = heads
        self.table = nn.Parameter(torch.zeros(6, d))
        self.norm1 = nn.LayerNorm(d, elementwise_affine=False, eps=eps)
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.q_norm1 = RMSNorm(hd, eps)
        self.k_norm1 = RMSNorm(hd, eps)
        self.out1 = nn.Linear(d, d, bias=False)
        self.norm2 = nn.LayerNorm(d, eps=eps)
        self.q2 = nn.Linear(d, d, bias=False)
        self.kv2 = nn.Linear(d, 2 * d, bias=False)
        self.q_norm2 = RMSNorm(hd, eps)
        self.k_norm2 = RMSNorm(hd, eps)
        self.out2 = nn.Linear(d, d, bias=False)
        self.norm3 = nn.LayerNorm(d, elementwise_affine=False, eps=eps)
        self.fc1 = nn.Linear(d, 4 * d, bias=False)
        self.fc2 = nn.Linear(4 * d, d, bias=False)

    def forward(self, x, mod, ctx, ctx_mask, cos, sin, split):
        B, N, d = x.shape
        h = self.heads
        shift1, scale1, gate1, shift2, scale2, gate2 = (mod + self.table[None]).unbind(1)
        y = self.norm1(x) * (1 + scale1[:, None]) + shift1[:, None]
        q, k, v = self.qkv(y).view(B, N, 3, h, -1).permute(2, 0, 3, 1, 4)
        q, k = self.q_norm1(q), self.k_norm1(k)
        q, k = apply_rope(q, cos, sin, split), apply_rope(k, cos, sin, split)
        a = attention(q, k, v).transpose(1, 2).reshape(B, N, d)
        x = x + gate1[:, None] * self.out1(a)
        M = ctx.shape[1]
        q = self.q2(self.norm2(x)).view(B, N, h, -1).transpose(1, 2)
        k, v = self.kv2(ctx).view(B, M, 2, h, -1).permute(2, 0, 3, 1, 4)
        q, k = self.q_norm2(q), self.k_norm2(k)
        a = attention(q, k, v, ctx_mask).transpose(1, 2).reshape(B, N, d)
        x = x + self.out2(a)
        y = self.norm3(x) * (1 + scale2[:, None]) + shift2[:, None]
        x = x + gate2[:, None] * self.fc2(gelu_tanh(self.fc1(y)))
        return x


class DiT(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["dit_dim"]
        eps = c["norm_eps"]
        self.c = c
        C = c["latent_channels"]
        pt, ph, pw = c["patch"]
        self.pin = C * pt * ph * pw
        self.patch_embed = nn.Linear(self.pin, d)
        self.t_fc1 = nn.Linear(256, d)
        self.t_fc2 = nn.Linear(d, d)
        self.adaln = nn.Linear(d, 6 * d)
        self.cap_fc1 = nn.Linear(c["text_dim"], d)
        self.cap_fc2 = nn.Linear(d, d)
        self.blocks = nn.ModuleList([DiTBlock(d, c["dit_heads"], eps) for _ in range(c["dit_layers"])])
        self.final_table = nn.Parameter(torch.zeros(2, d))
        self.norm_out = nn.LayerNorm(d, elementwise_affine=False, eps=eps)
        self.proj_out = nn.Linear(d, self.pin)

    def patchify(self, z):
        B, C, T, H, W = z.shape
        x = z.view(B, C, T, H // 2, 2, W // 2, 2).permute(0, 2, 3, 5, 1, 4, 6)
        return x.reshape(B, T * (H // 2) * (W // 2), C * 4)

    def unpatchify(self, x, T, H, W):
        B = x.shape[0]
        C = self.c["latent_channels"]
        x = x.view(B, T, H // 2, W // 2, C, 2, 2).permute(0, 4, 1, 2, 5, 3, 6)
        return x.reshape(B, C, T, H, W)

    def prepare_text(self, text):
        """The caption projection depends only on the text: computed once per sample call."""
        return self.cap_fc2(gelu_tanh(self.cap_fc1(text)))

    def forward(self, z, sigma, ctx, text_mask, rope):
        B, C, T, H, W = z.shape
        x = self.patch_embed(self.patchify(z))
        temb = self.t_fc2(F.silu(self.t_fc1(timestep_embedding(sigma).to(x.dtype))))
        mod = self.adaln(F.silu(temb)).view(B, 6, -1)
        split = self.c["rope_split"]
        cos, sin = rope
        for blk in self.blocks:
            x = blk(x, mod, ctx, text_mask, cos, sin, split)
        shift, scale = (self.final_table[None] + temb[:, None]).unbind(1)
        x = self.norm_out(x) * (1 + scale[:, None]) + shift[:, None]
        return self.unpatchify(self.proj_out(x), T, H, W)


class ChanRMSNorm(nn.Module):
    def __init__(self, ch, eps):
        super().__init__()
        self.eps = eps
        self.g = nn.Parameter(torch.ones(ch))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(1, keepdim=True) + self.eps) * self.g[None, :, None, None, None]


def conv3d(cin, cout, k):
    k = (k, k, k) if isinstance(k, int) else tuple(k)
    return nn.Conv3d(cin, cout, k, padding=tuple(i // 2 for i in k))


class Res(nn.Module):
    def __init__(self, ch, k, eps):
        super().__init__()
        self.n1, self.c1 = ChanRMSNorm(ch, eps), conv3d(ch, ch, k)
        self.n2, self.c2 = ChanRMSNorm(ch, eps), conv3d(ch, ch, k)

    def forward(self, x):
        return x + self.c2(F.silu(self.n2(self.c1(F.silu(self.n1(x))))))


def pixel_shuffle3d(x, f):
    ft, fh, fw = f
    B, Cf, T, H, W = x.shape
    C = Cf // (ft * fh * fw)
    x = x.view(B, C, ft, fh, fw, T, H, W).permute(0, 1, 5, 2, 6, 3, 7, 4)
    return x.reshape(B, C, T * ft, H * fh, W * fw)


class Up(nn.Module):
    def __init__(self, cin, cout, f, k):
        super().__init__()
        self.f = f
        self.conv = conv3d(cin, cout * f[0] * f[1] * f[2], k)

    def forward(self, x):
        return pixel_shuffle3d(self.conv(x), self.f)


class Decoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        eps = c["norm_eps"]
        c0, c1, c2, c3 = c["vae_channels"]
        self.conv_in = conv3d(c["latent_channels"], c0, 3)
        self.res0 = Res(c0, 3, eps)
        self.up0 = Up(c0, c1, (2, 2, 2), (1, 3, 3))
        self.res1 = Res(c1, 3, eps)
        self.up1 = Up(c1, c2, (2, 2, 2), (1, 3, 3))
        self.res2 = Res(c2, (1, 3, 3), eps)
        self.up2 = Up(c2, c3, (1, 2, 2), (1, 3, 3))
        self.norm_out = ChanRMSNorm(c3, eps)
        self.conv_out = conv3d(c3, 3, (1, 3, 3))

    def forward(self, z):
        x = self.res0(self.conv_in(z))
        x = self.res1(self.up0(x))
        x = self.res2(self.up1(x))
        x = self.up2(x)
        return self.conv_out(F.silu(self.norm_out(x)))


def sigma_schedule(steps, shift):
    s = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64)
    return (shift * s / (1 + (shift - 1) * s)).float()
