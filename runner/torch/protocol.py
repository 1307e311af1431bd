"""reel runner protocol framing (docs/runner.md): 4-byte big-endian length + one msgpack map."""
import struct
import threading

import msgpack
import numpy as np
import torch

MAX_FRAME = 1 << 30

DTYPES = {"f32": ("<f4", torch.float32), "u8": ("u1", torch.uint8)}


class ProtocolError(Exception):
    """The peer sent something that is not a frame of this protocol."""


def read_frame(f):
    """Next message from binary stream f, or None at a clean EOF."""
    head = f.read(4)
    if not head:
        return None
    if len(head) < 4:
        raise ProtocolError("truncated frame length")
    (n,) = struct.unpack(">I", head)
    if n > MAX_FRAME:
        raise ProtocolError(f"frame of {n} bytes exceeds {MAX_FRAME}")
    body = f.read(n)
    if len(body) < n:
        raise ProtocolError("truncated frame")
    msg = msgpack.unpackb(body, raw=False)
    if not isinstance(msg, dict):
        raise ProtocolError("frame is not a map")
    return msg


class Writer:
    """Thread-safe frame writer: the worker and the reader thread both answer."""

    def __init__(self, f):
        self._f = f
        self._lock = threading.Lock()

    def send(self, msg):
        body = msgpack.packb(msg, use_bin_type=True)
        with self._lock:
            self._f.write(struct.pack(">I", len(body)) + body)
            self._f.flush()


def tensor_out(t):
    """torch tensor -> {dtype, shape, data} (raw little-endian bytes)."""
    t = t.detach().cpu().contiguous()
    name = {torch.float32: "f32", torch.uint8: "u8"}[t.dtype]
    return {"dtype": name, "shape": list(t.shape), "data": t.numpy().astype(DTYPES[name][0]).tobytes()}


def tensor_in(m, what, dtype):
    """{dtype, shape, data} -> torch tensor, checking dtype and size; ValueError otherwise."""
    if not isinstance(m, dict):
        raise ValueError(f"{what}: not a tensor")
    if m.get("dtype") != dtype:
        raise ValueError(f"{what}: dtype {m.get('dtype')!r}, want {dtype!r}")
    shape = m.get("shape")
    data = m.get("data")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d > 0 for d in shape) \
            or not isinstance(data, (bytes, bytearray)):
        raise ValueError(f"{what}: bad shape or data")
    np_dtype = DTYPES[dtype][0]
    n = int(np.prod(shape)) * np.dtype(np_dtype).itemsize
    if len(data) != n:
        raise ValueError(f"{what}: {len(data)} bytes, shape {shape} needs {n}")
    return torch.from_numpy(np.frombuffer(data, dtype=np_dtype).copy().reshape(shape))
