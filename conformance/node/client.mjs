// A reel client written from docs/protocol.md alone (no reel code): it
// submits jobs by publishing prompt messages (msgpack envelope, plain JSON,
// and a malformed one), follows each job's events to its ending event, and
// fetches the video of a succeeded job from the object store.
//
//   NATS_URL=nats://127.0.0.1:4222 PREFIX=conf node client.mjs
//
// It prints one JSON line per job: {job, encoding, kind, error, object,
// bytes, sha256, frames_sha256, events}, and exits 0 when every job ended
// (whatever its outcome: the Go test judges the outcomes).
import { createHash } from "node:crypto";
import { connect } from "nats";
import { encode } from "@msgpack/msgpack";

const url = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const prefix = process.env.PREFIX ?? "node";
const prompt = process.env.PROMPT ?? "a red circle moving right";
// Small, fast settings; absent fields take the protocol's defaults.
const settings = { frames: 16, steps: 2, seed: 4 };

// Section 2.2: the envelope, its body a msgpack map carried as bin.
function msgpackPrompt(job) {
  return encode({
    v: 1,
    job,
    stage: "client",
    attempt: 1,
    settings,
    chunk: 0,
    count: 0,
    body: encode({ prompt, negative: "" }),
  });
}

// Section 2.1: a plain JSON object.
function jsonPrompt() {
  return new TextEncoder().encode(JSON.stringify({ prompt, settings }));
}

const jobs = [
  { job: `${prefix}-msgpack`, encoding: "msgpack", data: msgpackPrompt(`${prefix}-msgpack`) },
  { job: `${prefix}-json`, encoding: "json", data: jsonPrompt() },
  { job: `${prefix}-bad`, encoding: "json", data: new TextEncoder().encode('{"prompt": 5}') },
];

// Section 7, "Following a job": an ordered consumer on the job's events
// subject from the start, up to the first ending event.
async function follow(js, job) {
  const consumer = await js.consumers.get("REEL_EVENTS", { filterSubjects: [`reel.events.${job}`] });
  const messages = await consumer.consume();
  const kinds = [];
  for await (const m of messages) {
    const ev = JSON.parse(new TextDecoder().decode(m.data));
    kinds.push(ev.kind);
    if (ev.kind === "succeeded" || ev.kind === "failed" || ev.kind === "cancelled") {
      await messages.close();
      return { ev, kinds };
    }
  }
  throw new Error(`events of ${job} ended without an ending event`);
}

// Section 9: the object named by video.object in bucket reel-blobs.
async function fetchVideo(js, object) {
  const os = await js.views.os("reel-blobs");
  const result = await os.get(object);
  if (result === null) {
    throw new Error(`object ${object} not found`);
  }
  const chunks = [];
  const reader = result.data.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
  }
  const err = await result.error;
  if (err) {
    throw new Error(`object ${object}: ${err.message}`);
  }
  return Buffer.concat(chunks);
}

const nc = await connect({ servers: url, name: "reel node conformance" });
const js = nc.jetstream();
try {
  for (const j of jobs) {
    // A JetStream publish: the ack says the stream stored the prompt.
    await js.publish(`reel.prompt.${j.job}`, j.data);
  }
  await Promise.all(
    jobs.map(async (j) => {
      const { ev, kinds } = await follow(js, j.job);
      const out = { job: j.job, encoding: j.encoding, kind: ev.kind, error: ev.error ?? "", events: kinds };
      if (ev.kind === "succeeded") {
        const bytes = await fetchVideo(js, ev.video.object);
        out.object = ev.video.object;
        out.bytes = bytes.length;
        out.sha256 = createHash("sha256").update(bytes).digest("hex");
        out.frames_sha256 = ev.video.frames_sha256;
      }
      console.log(JSON.stringify(out));
    }),
  );
} finally {
  await nc.drain();
}
