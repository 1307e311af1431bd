// ONNX Runtime anchor of the engine benchmarks (anchors.sh runs it beside the Go engine):
// times one batched DiT forward or one VAE chunk of the models export_onnx.py wrote, with
// onnxruntime-node on the CPU at 2 intra-op threads (1 inter-op), all graph optimisations.
//
//   usage: node run.mjs {dit,vae} MODELDIR [RUNS]
// Prints one line per run and, last, one JSON line {"what":..., "runs":[seconds...]}.
import * as ort from "onnxruntime-node";
import path from "node:path";

const [what, dir, runsArg] = process.argv.slice(2);
if (!["dit", "vae"].includes(what) || !dir) {
  console.error("usage: node run.mjs {dit,vae} MODELDIR [RUNS]");
  process.exit(2);
}
const runs = Number(runsArg ?? 5);
const threads = 2;
// ANCHOR_SPIN=1 keeps ONNX Runtime's default busy-waiting thread pool; the default here
// is passive waiting (see anchors.sh: on this shared machine spinning pools collapse).
const spin = process.env.ANCHOR_SPIN === "1";
const session = await ort.InferenceSession.create(path.join(dir, `${what}.onnx`), {
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: "sequential",
  graphOptimizationLevel: "all",
  executionProviders: ["cpu"],
  extra: { session: { intra_op: { allow_spinning: spin ? "1" : "0" } } },
});

// Deterministic pseudo-normal inputs (the values do not change the work).
function randn(n, seed) {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 1) / 4294967297;
  for (let i = 0; i < n; i++) a[i] = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return a;
}

let feeds;
if (what === "dit") {
  const T = Number(process.env.REEL_T ?? 12); // latent frames the model was exported for
  const m = 96;
  const mask = new BigInt64Array(2 * m);
  for (let i = 0; i < m; i++) {
    mask[i] = i < 27 ? 1n : 0n; // "a red circle moving right": BOS + 25 bytes + EOS
    mask[m + i] = i < 2 ? 1n : 0n; // "": BOS + EOS
  }
  feeds = {
    z: new ort.Tensor("float32", randn(2 * 8 * T * 64, 1), [2, 8, T, 8, 8]),
    sigma: new ort.Tensor("float32", new Float32Array([0.5, 0.5]), [2]),
    text: new ort.Tensor("float32", randn(2 * m * 256, 2), [2, m, 256]),
    text_mask: new ort.Tensor("int64", mask, [2, m]),
  };
} else {
  feeds = { z: new ort.Tensor("float32", randn(8 * 4 * 64, 3), [1, 8, 4, 8, 8]) };
}

await session.run(feeds); // warm-up
const out = [];
for (let r = 0; r < runs; r++) {
  const t = process.hrtime.bigint();
  await session.run(feeds);
  out.push(Number(process.hrtime.bigint() - t) / 1e9);
  console.log(`onnxruntime ${what} run ${r}: ${(out[r] * 1e3).toFixed(2)} ms`);
}
const version = (await import("onnxruntime-node/package.json", { with: { type: "json" } })).default.version;
console.log(JSON.stringify({ what, engine: "onnxruntime", version, threads: { intra: threads, inter: 1, spin }, runs: out }));
