// The official OpenAI Node SDK, unmodified, against a reel server: create →
// poll until completed → download the MP4 and the thumbnail → remix it and
// extend it (videos.remix, videos.extend), poll both until completed and
// download them → list finds it → delete → retrieve is a 404; an
// unsupported size is a 400; another key, or no key, cannot see the video
// nor remix it. Run by cmd/reel/api_test.go with
// REEL_API_URL (…/v1), REEL_API_KEY, REEL_API_KEY2 and OUT_DIR; prints one
// JSON line with what it saw, and exits non-zero on the first failure.
import OpenAI from 'openai';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const baseURL = process.env.REEL_API_URL;
const out = process.env.OUT_DIR;
const client = new OpenAI({ apiKey: process.env.REEL_API_KEY, baseURL, maxRetries: 0 });
const other = new OpenAI({ apiKey: process.env.REEL_API_KEY2, baseURL, maxRetries: 0 });
const seen = {};

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

// poll retrieves a video until it has ended, returning it with the
// progress values seen.
async function poll(v) {
  const seenProgress = [];
  while (v.status === 'queued' || v.status === 'in_progress') {
    await new Promise((r) => setTimeout(r, 200));
    v = await client.videos.retrieve(v.id);
    seenProgress.push(v.progress);
  }
  return [v, seenProgress];
}

async function status(fn) {
  try {
    await fn();
    return 200;
  } catch (e) {
    if (e instanceof OpenAI.APIError) return { status: e.status, param: e.param, message: e.message, code: e.code };
    throw e;
  }
}

// An unsupported size is refused at once, naming the field.
const bad = await status(() => client.videos.create({ prompt: 'a red circle moving right', size: '1280x720' }));
check(bad.status === 400 && bad.param === 'size', `size 1280x720: got ${JSON.stringify(bad)}`);
seen.badSize = bad;
const badSeconds = await status(() => client.videos.create({ prompt: 'a red circle moving right', seconds: '5' }));
check(badSeconds.status === 400 && badSeconds.param === 'seconds', `seconds 5: got ${JSON.stringify(badSeconds)}`);
seen.badSeconds = badSeconds;

let video = await client.videos.create({
  prompt: 'a red circle moving right',
  model: 'reel-tiny',
  seconds: '4',
  size: '64x64',
  steps: 6, // reel's own settings travel in the same form
  seed: 7,
});
check(video.object === 'video' && ['queued', 'in_progress'].includes(video.status), `create: ${JSON.stringify(video)}`);
seen.created = { id: video.id, status: video.status, seconds: video.seconds, size: video.size };
let progress;
[video, progress] = await poll(video);
check(video.status === 'completed', `final: ${JSON.stringify(video)}`);
check(video.progress === 100 && video.seconds === '4' && video.size === '64x64', `completed: ${JSON.stringify(video)}`);
seen.progress = progress;
seen.completed = { status: video.status, progress: video.progress, seconds: video.seconds, size: video.size, completed_at: video.completed_at };

const mp4 = await client.videos.downloadContent(video.id);
await writeFile(join(out, 'video.mp4'), Buffer.from(await mp4.arrayBuffer()));
const thumb = await client.videos.downloadContent(video.id, { variant: 'thumbnail' });
await writeFile(join(out, 'thumbnail.png'), Buffer.from(await thumb.arrayBuffer()));
seen.contentTypes = [mp4.headers.get('content-type'), thumb.headers.get('content-type')];

// Another key sees nothing of it; no key is refused.
seen.otherKey = await status(() => other.videos.retrieve(video.id));
check(seen.otherKey.status === 404, `other key retrieve: ${JSON.stringify(seen.otherKey)}`);
const otherList = await other.videos.list();
check(!otherList.data.some((v) => v.id === video.id), 'other key lists the video');
seen.noKey = (await fetch(`${baseURL}/videos/${video.id}`)).status;
check(seen.noKey === 401, `no key: ${seen.noKey}`);

// Remix: the SDK's call (POST /videos/{id}/remix, JSON), with reel's own
// strength and seed in the same body; the same Idempotency-Key returns the
// same video (this SDK has no idempotency header of its own: its
// idempotencyKey option is dropped, so the header goes as a plain header).
const remixBody = { prompt: 'a blue circle moving right', strength: 0.6, seed: 8 };
const once = { headers: { 'Idempotency-Key': 'remix-once' } };
let remix = await client.videos.remix(video.id, remixBody, once);
const remixAgain = await client.videos.remix(video.id, remixBody, once);
check(remix.id !== video.id && remixAgain.id === remix.id, `remix ids ${remix.id} ${remixAgain.id}`);
check(remix.remixed_from_video_id === video.id && remix.prompt === remixBody.prompt, `remix: ${JSON.stringify(remix)}`);
seen.otherKeyRemix = await status(() => other.videos.remix(video.id, remixBody));
check(seen.otherKeyRemix.status === 404, `other key remix: ${JSON.stringify(seen.otherKeyRemix)}`);

// Extension: the SDK's call (POST /videos/extensions, multipart with
// video[id]); seconds is the new segment's, the video's is the stitched total.
let ext = await client.videos.extend({ video: { id: video.id }, prompt: 'a red circle moving right', seconds: '2' });
check(ext.reel.parent_video_id === video.id && ext.reel.derivation === 'extension' && ext.seconds === '6', `extension: ${JSON.stringify(ext)}`);
seen.otherKeyExtend = await status(() => other.videos.extend({ video: { id: video.id }, prompt: 'x', seconds: '2' }));
check(seen.otherKeyExtend.status === 404, `other key extend: ${JSON.stringify(seen.otherKeyExtend)}`);
seen.badExtend = await status(() => client.videos.extend({ video: { id: video.id }, prompt: 'x', seconds: '3' }));
check(seen.badExtend.status === 400 && seen.badExtend.param === 'seconds', `extend seconds 3: ${JSON.stringify(seen.badExtend)}`);

[remix] = await poll(remix);
[ext] = await poll(ext);
for (const [name, v] of [['remix', remix], ['extension', ext]]) {
  check(v.status === 'completed', `${name}: ${JSON.stringify(v)}`);
  const body = await client.videos.downloadContent(v.id);
  await writeFile(join(out, `${name}.mp4`), Buffer.from(await body.arrayBuffer()));
  seen[name] = { id: v.id, seconds: v.seconds, remixed_from_video_id: v.remixed_from_video_id, parent: v.reel.parent_video_id, frames: v.reel.frames };
}

const ids = [];
for await (const v of client.videos.list({ limit: 10, order: 'desc' })) ids.push(v.id);
check(ids.includes(video.id) && ids.includes(remix.id) && ids.includes(ext.id), `list: ${ids}`);
seen.listed = ids.length;

const del = await client.videos.delete(video.id);
check(del.deleted === true && del.object === 'video.deleted' && del.id === video.id, `delete: ${JSON.stringify(del)}`);
seen.afterDelete = await status(() => client.videos.retrieve(video.id));
check(seen.afterDelete.status === 404, `retrieve after delete: ${JSON.stringify(seen.afterDelete)}`);
seen.id = video.id;
console.log(JSON.stringify(seen));
