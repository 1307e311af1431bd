#!/usr/bin/env python3
"""A runner for tests: speaks the protocol of docs/runner.md with reel-tiny's
geometry but computes nothing (zeros), and misbehaves on request.

    fakerunner.py [--fail OP=MODE]...

MODE is what the runner does on every OP call (OP: encode_text, sample,
decode_chunk, or any): bad_input, oom, transient (an error answer of that
kind), garbage (prints non-protocol bytes on stdout), crash (exits 3 with a
message on stderr), hang (stops reading and answering, health included).
Needs msgpack only.
"""
import argparse, os, struct, sys, time

import msgpack

C, LF, LH, LW, F, H, W, TL, TD = 8, 4, 8, 8, 16, 64, 64, 96, 256
MANIFEST = {
    "model": "reel-tiny", "checkpoint": "reel-tiny", "digest": "sha256:" + "0" * 64,
    "latent_channels": C, "latent_height": LH, "latent_width": LW, "latent_frames_per_chunk": LF,
    "frames_per_chunk": F, "width": W, "height": H, "fps": 8, "text_length": TL, "text_dim": TD,
    "max_frames": 48, "window_frames": 48, "overlap_frames": 16, "max_steps": 200, "max_guidance": 100,
    "defaults": {"frames": 48, "steps": 30, "guidance": 5, "shift": 3},
}

ap = argparse.ArgumentParser()
ap.add_argument("--fail", action="append", default=[])
args = ap.parse_args()
fail = dict(f.split("=", 1) for f in args.fail)

inp, out = sys.stdin.buffer, sys.stdout.buffer


def read():
    h = inp.read(4)
    if len(h) < 4:
        sys.exit(0)
    return msgpack.unpackb(inp.read(struct.unpack(">I", h)[0]), raw=False)


def send(m):
    b = msgpack.packb(m, use_bin_type=True)
    out.write(struct.pack(">I", len(b)) + b)
    out.flush()


def tensor(dtype, *shape):
    n = 1
    for s in shape:
        n *= s
    return {"dtype": dtype, "shape": list(shape), "data": bytes(n * (4 if dtype == "f32" else 1))}


while True:
    req = read()
    op, rid = req["op"], req["id"]
    if op == "hello":
        send({"id": rid, "ok": True, "protocol": 1, "runner": "fake", "pid": os.getpid(), "manifest": MANIFEST,
              "capabilities": {"device": "cpu", "dtype": "float32"}, "memory": {"rss_bytes": 12345678}})
        continue
    if op == "health":
        send({"id": rid, "ok": True, "memory": {"rss_bytes": 12345678}})
        continue
    if op == "cancel":
        send({"id": rid, "ok": True})
        continue
    mode = fail.get(op, fail.get("any"))
    print("INFO fake runner:", op, "for job", req.get("job", "?"), "mode", mode, file=sys.stderr, flush=True)
    if mode in ("bad_input", "oom", "transient"):
        send({"id": rid, "ok": False, "error": {"kind": mode, "message": "fake %s on %s" % (mode, op)}})
    elif mode == "garbage":
        out.write(b"Traceback (most recent call last): oops\n")
        out.flush()
        time.sleep(60)
    elif mode == "crash":
        print("ERROR fake runner crashing on", op, file=sys.stderr, flush=True)
        sys.exit(3)
    elif mode == "hang":
        time.sleep(3600)
    elif op == "encode_text":
        send({"id": rid, "ok": True, "hidden": tensor("f32", TL, TD), "mask": tensor("u8", TL)})
    elif op == "sample":
        noise = req["noise"]
        send({"id": rid, "ok": True, "latent": noise})
    elif op == "decode_chunk":
        send({"id": rid, "ok": True, "frames": tensor("u8", F, H, W, 3)})
    else:
        send({"id": rid, "ok": False, "error": {"kind": "bad_input", "message": "unknown op " + op}})
