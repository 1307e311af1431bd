"""safetensors reading for the reel-tiny checkpoints (no safetensors package needed).

Supports the dtypes the reel checkpoints use: F32, BF16 (widened exactly to float32) and
F8_E4M3 (kept as raw uint8 codes; decode with e4m3_table). PyTorch 1.13 has no float8
dtype, so FP8 codes travel as uint8 and are decoded through a 256-entry table.
"""
import json
import struct

import numpy as np
import torch


def e4m3_table():
    """float32 value of every E4M3FN code (1 sign, 4 exponent bits biased by 7, 3 mantissa
    bits; no infinities; 0x7f/0xff are NaN), the same table as the Go package model/fp8."""
    t = np.zeros(256, dtype=np.float32)
    for code in range(256):
        s = -1.0 if code & 0x80 else 1.0
        e = (code >> 3) & 0xF
        m = code & 0x7
        if e == 0xF and m == 0x7:
            t[code] = np.nan
        elif e == 0:
            t[code] = s * (m / 8.0) * 2.0 ** -6
        else:
            t[code] = s * (1.0 + m / 8.0) * 2.0 ** (e - 7)
    return t


class Checkpoint:
    """One safetensors file: tensors by name, __metadata__, and its bytes (raw).
    header_only reads just the header (names, dtypes, shapes, metadata): raw is None and
    get() is unavailable, for a model the runner does not load (hash it with digest_into)."""

    def __init__(self, path, header_only=False):
        self.path = path
        self.raw = None
        self._data = None
        with open(path, "rb") as f:
            if header_only:
                n = struct.unpack("<Q", f.read(8))[0]
                header = json.loads(f.read(n))
            else:
                raw = f.read()
                self.raw = raw
                n = struct.unpack("<Q", raw[:8])[0]
                header = json.loads(raw[8:8 + n])
                self._data = memoryview(raw)[8 + n:]
        self.metadata = header.pop("__metadata__", {})
        self._header = header

    def digest_into(self, h):
        """Feed the file's bytes to hashlib object h: from raw, else streamed from the file."""
        if self.raw is not None:
            h.update(self.raw)
            return
        with open(self.path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)

    def release(self):
        """Drop the file's bytes once the model holds its own copies."""
        self.raw = None
        self._data = None

    def names(self):
        return list(self._header)

    def dtype(self, name):
        return self._header[name]["dtype"]

    def get(self, name):
        """float32 tensor for F32/BF16, uint8 codes for F8_E4M3."""
        h = self._header[name]
        a, b = h["data_offsets"]
        buf = self._data[a:b]
        shape = h["shape"]
        dt = h["dtype"]
        if dt == "F32":
            arr = np.frombuffer(buf, dtype="<f4").astype(np.float32)
        elif dt == "BF16":
            bits = np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16
            arr = bits.view(np.float32)
        elif dt == "F8_E4M3":
            arr = np.frombuffer(buf, dtype=np.uint8).copy()
        else:
            raise ValueError(f"{self.path}: tensor {name}: unsupported dtype {dt}")
        return torch.from_numpy(arr.reshape(shape))

    def config(self):
        s = self.metadata.get("config")
        return json.loads(s) if s else None
