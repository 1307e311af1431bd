#!/usr/bin/env python3
"""The bundled PyTorch runner for reel (docs/runner.md).

A reel stage starts this as a child process and speaks the runner protocol over its
stdin/stdout; logs go to stderr only (the stage copies them into its log). It runs reel-tiny
from the checkpoints the stage names in hello:

    python3 runner/torch/runner.py --device cpu|cuda:N [--threads N] [--fp8 auto|on|off]
"""
import argparse
import logging
import os
import queue
import sys
import threading
import time
import traceback

# The protocol owns file descriptor 1: keep a private copy of it, then point fd 1 at stderr,
# so that nothing else (print, a C library, torch warnings) can write into the protocol stream.
_proto_out = os.fdopen(os.dup(1), "wb")
os.dup2(2, 1)
sys.stdout = sys.stderr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import protocol  # noqa: E402
from engine import BadInput, Cancelled, ReelTiny  # noqa: E402

PROTOCOL_VERSION = 1
log = logging.getLogger("reel.runner")


def rss_bytes():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def memory(device):
    m = {"rss_bytes": rss_bytes()}
    if device.type == "cuda" and torch.cuda.is_available():
        m["gpu_allocated_bytes"] = torch.cuda.memory_allocated(device)
        m["gpu_reserved_bytes"] = torch.cuda.memory_reserved(device)
        m["gpu_peak_bytes"] = torch.cuda.max_memory_allocated(device)
        free, total = torch.cuda.mem_get_info(device)
        m["gpu_free_bytes"], m["gpu_total_bytes"] = free, total
    return m


def is_oom(e):
    oom_type = getattr(torch.cuda, "OutOfMemoryError", None)
    return isinstance(e, MemoryError) or (oom_type is not None and isinstance(e, oom_type)) or \
        (isinstance(e, RuntimeError) and "out of memory" in str(e))


class Runner:
    def __init__(self, args, out):
        self.args = args
        self.device = torch.device(args.device)
        self.out = out
        self.engine = None
        self.jobs = queue.Queue()
        self.cancelled = set()
        self.lock = threading.Lock()

    def reply(self, rid, **fields):
        self.out.send({"id": rid, "ok": True, **fields})

    def fail(self, rid, kind, message):
        self.out.send({"id": rid, "ok": False, "error": {"kind": kind, "message": message}})

    # -- reader thread: control ops answered at once, compute ops queued -----------------
    def serve(self, stdin):
        threading.Thread(target=self.work, daemon=True, name="worker").start()
        while True:
            try:
                msg = protocol.read_frame(stdin)
            except protocol.ProtocolError as e:
                log.error("protocol error on stdin: %s; exiting", e)
                return 2
            if msg is None:
                log.info("stdin closed; exiting")
                return 0
            rid, op = msg.get("id"), msg.get("op")
            if op == "cancel":
                with self.lock:
                    self.cancelled.add(msg.get("target"))
                self.reply(rid)
            elif op == "health":
                self.reply(rid, memory=memory(self.device))
            elif op in ("hello", "encode_text", "sample", "decode_chunk"):
                self.jobs.put(msg)
            else:
                self.fail(rid, "bad_input", f"unknown op {op!r}")

    # -- worker thread: one compute call at a time ---------------------------------------
    def work(self):
        while True:
            msg = self.jobs.get()
            rid, op = msg.get("id"), msg.get("op")
            t0 = time.time()
            try:
                with self.lock:
                    if rid in self.cancelled:
                        raise Cancelled("cancelled before it started")
                if op != "hello" and self.engine is None:
                    raise BadInput(f"{op} before hello")
                fields = getattr(self, "op_" + op)(rid, msg)
                self.reply(rid, **fields)
                log.debug("%s %s done in %.3fs", op, rid, time.time() - t0)
            except Cancelled as e:
                self.fail(rid, "cancelled", str(e))
            except (BadInput, ValueError, KeyError, TypeError) as e:
                self.fail(rid, "bad_input", f"{op}: {type(e).__name__}: {e}")
            except Exception as e:  # noqa: BLE001 - every failure must become a typed answer
                if is_oom(e):
                    if self.device.type == "cuda":
                        torch.cuda.empty_cache()
                    log.error("%s: out of memory: %s", op, e)
                    self.fail(rid, "oom", f"{op}: {e}")
                else:
                    log.error("%s failed:\n%s", op, traceback.format_exc())
                    self.fail(rid, "transient", f"{op}: {type(e).__name__}: {e}")
            finally:
                with self.lock:
                    self.cancelled.discard(rid)

    def op_hello(self, rid, msg):
        if self.engine is None:
            self.engine = ReelTiny(msg.get("weights") or {}, self.args.device, self.args.fp8, msg.get("models"))
        e = self.engine
        caps = {"device": str(self.device), "fp8": e.fp8, "fp8_detail": e.fp8_reason,
                "dtype": str(e.dtype).replace("torch.", ""), "torch": torch.__version__,
                "attention": "sdpa" if hasattr(torch.nn.functional, "scaled_dot_product_attention") else "manual",
                "ops": ["encode_text", "sample", "decode_chunk", "health", "cancel"],
                "sample_guide": True}
        if self.device.type == "cuda":
            caps["device_name"] = torch.cuda.get_device_name(self.device)
        return {"protocol": PROTOCOL_VERSION, "runner": "reel-torch", "pid": os.getpid(),
                "manifest": e.manifest(), "capabilities": caps, "memory": memory(self.device)}

    def op_encode_text(self, rid, msg):
        prompt = msg.get("prompt")
        if not isinstance(prompt, str):
            raise BadInput("prompt must be a string")
        hidden, mask = self.engine.encode_text(prompt)
        return {"hidden": protocol.tensor_out(hidden), "mask": protocol.tensor_out(mask)}

    def op_sample(self, rid, msg):
        def text(name):
            t = msg.get(name)
            if t is None:
                return None
            return (protocol.tensor_in(t.get("hidden"), name + ".hidden", "f32"),
                    protocol.tensor_in(t.get("mask"), name + ".mask", "u8"))
        cond = text("cond")
        if cond is None:
            raise BadInput("sample: cond is required")
        noise = protocol.tensor_in(msg.get("noise"), "noise", "f32")

        def progress(step, total):
            self.out.send({"id": rid, "progress": {"step": step, "total": total}})

        def cancelled():
            with self.lock:
                return rid in self.cancelled
        guide = None
        if msg.get("guide") is not None:
            gm = msg["guide"]
            guide = {"strength": float(gm.get("strength") or 0.0)}
            for name, dt in (("known", "f32"), ("fixed", "u8"), ("init", "f32")):
                if gm.get(name) is not None:
                    guide[name] = protocol.tensor_in(gm[name], "guide." + name, dt)
        lat = self.engine.sample(cond, text("uncond"), noise, int(msg["steps"]), float(msg["guidance"]),
                                 float(msg["shift"]), progress, cancelled, guide)
        return {"latent": protocol.tensor_out(lat)}

    def op_decode_chunk(self, rid, msg):
        latent = protocol.tensor_in(msg.get("latent"), "latent", "f32")
        return {"frames": protocol.tensor_out(self.engine.decode_chunk(latent))}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu", help="cpu or cuda:N")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    ap.add_argument("--fp8", choices=("auto", "on", "off"), default="auto",
                    help="FP8 GEMMs for the DiT block linears on CUDA")
    ap.add_argument("--log-level", default="info")
    args = ap.parse_args()
    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(),
                        format="%(levelname)s %(message)s")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            log.error("--device %s: CUDA is not available in torch %s", args.device, torch.__version__)
            return 3
        torch.cuda.set_device(dev)
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    return Runner(args, protocol.Writer(_proto_out)).serve(sys.stdin.buffer)


if __name__ == "__main__":
    sys.exit(main())
