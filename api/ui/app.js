// reel's web UI: plain JavaScript against the same /v1 API the SDKs use.
'use strict';

const STAGES = ['textenc', 'denoise', 'vaedecode', 'encode'];
const TERMINAL = new Set(['completed', 'failed']);
const KEY = 'reel_api_key';
const state = { videos: new Map(), streams: new Map(), selected: null, model: null, deriveFor: null };

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...kids) => {
  const e = document.createElement(tag);
  Object.assign(e, props);
  for (const k of kids) e.append(k);
  return e;
};

function apiKey() { return localStorage.getItem(KEY) || ''; }

function setKey(k) {
  if (k) localStorage.setItem(KEY, k); else localStorage.removeItem(KEY);
  // <video src>, downloads and EventSource cannot send a header: the
  // server also reads the key from this same-site cookie.
  document.cookie = `${KEY}=${encodeURIComponent(k)}; path=/; SameSite=Strict` + (k ? '' : '; max-age=0');
}

async function api(method, path, body) {
  const headers = {};
  if (apiKey()) headers.Authorization = `Bearer ${apiKey()}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.error ? data.error.message : `${r.status} ${r.statusText}`);
  return data;
}

function stageFraction(s) {
  if (!s) return 0;
  if (s.state === 'succeeded') return 1;
  if (s.steps) return s.step / s.steps;
  if (s.count) return s.chunks / s.count;
  return 0;
}

function stageLabel(s) {
  if (!s) return '';
  if (s.steps && s.state !== 'succeeded') return `step ${s.step}/${s.steps}`;
  if (s.count && s.state !== 'succeeded') return `chunk ${s.chunks}/${s.count}`;
  return s.state;
}

function render(v) {
  let li = document.querySelector(`#queue li[data-id="${v.id}"]`);
  if (!li) {
    li = el('li');
    li.dataset.id = v.id;
    li.addEventListener('click', () => select(v.id));
    const list = $('queue');
    list.prepend(li);
  }
  li.className = v.id === state.selected ? 'selected' : '';
  li.dataset.status = v.status;
  li.dataset.derivation = v.reel.derivation || '';
  const actions = el('span', { className: 'actions' });
  if (!TERMINAL.has(v.status)) {
    actions.append(el('button', { className: 'secondary cancel', textContent: 'Cancel', onclick: (e) => { e.stopPropagation(); cancel(v.id); } }));
  }
  actions.append(el('button', { className: 'secondary delete', textContent: 'Delete', onclick: (e) => { e.stopPropagation(); remove(v.id); } }));
  const stages = el('div', { className: 'stages' });
  for (const name of STAGES) {
    const s = v.reel.stages[name];
    stages.append(el('span', { textContent: name }), el('progress', { max: 1, value: stageFraction(s) }), el('span', { textContent: stageLabel(s) }));
  }
  const set = v.reel.settings;
  const from = v.reel.derivation ? ` · ${v.reel.derivation}${v.reel.replay_from ? ` from ${v.reel.replay_from}` : ''} of ${v.reel.parent_video_id}` : '';
  const meta = `${v.id} · ${v.seconds}s ${v.size} · ${set.steps} steps · seed ${set.seed}` + from + (v.error ? ` · ${v.error.message}` : '');
  li.replaceChildren(
    el('div', { className: 'row' },
      el('span', { className: 'prompt', textContent: v.prompt, title: v.prompt }),
      el('span', { className: `status ${v.status}`, textContent: `${v.status} ${v.progress}%` }),
      actions),
    stages,
    el('div', { className: 'meta', textContent: meta }));
  if (v.id === state.selected) showPlayer(v);
}

function update(v) {
  state.videos.set(v.id, v);
  render(v);
  if (!TERMINAL.has(v.status)) follow(v.id);
}

// follow streams a video's events (Server-Sent Events) until it ends.
function follow(id) {
  if (state.streams.has(id)) return;
  const es = new EventSource(`/v1/videos/${encodeURIComponent(id)}/events`);
  state.streams.set(id, es);
  const onEvent = (m) => {
    const d = JSON.parse(m.data);
    state.videos.set(id, d.video);
    render(d.video);
    if (TERMINAL.has(d.video.status)) { es.close(); state.streams.delete(id); }
  };
  for (const k of ['submitted', 'started', 'step', 'chunk', 'done', 'retry', 'succeeded', 'failed', 'cancelled']) es.addEventListener(k, onEvent);
  es.onerror = () => { es.close(); state.streams.delete(id); };
}

function contentURL(id, variant) {
  return `/v1/videos/${encodeURIComponent(id)}/content` + (variant ? `?variant=${variant}` : '');
}

// showDerive shows what can be made from the selected video: a remix or
// an extension of a completed one (not a remix of an extension: its
// latents are its parent's), a replay of one that ended.
function showDerive(v) {
  const ready = v.status === 'completed';
  const extension = v.reel.derivation === 'extension';
  const m = state.model;
  const room = m ? (m.max_frames - v.reel.settings.frames) / m.frames_per_chunk : 0;
  $('derive').hidden = !TERMINAL.has(v.status);
  $('remix-form').hidden = !ready || extension;
  $('extend-form').hidden = !ready || room < 1;
  $('replay-form').hidden = !TERMINAL.has(v.status);
  if (state.deriveFor === v.id) return;
  // A newly selected video: fill the forms in from it.
  state.deriveFor = v.id;
  $('derive-error').textContent = '';
  $('remix-prompt').value = v.prompt || '';
  $('extend-prompt').value = '';
  const sel = $('extend-seconds');
  sel.replaceChildren();
  if (m) {
    for (let n = 1; n <= Math.min(room, 12); n++) {
      const s = String((n * m.frames_per_chunk) / m.fps);
      sel.append(el('option', { value: s, textContent: s }));
    }
  }
  $('replay-stage').value = v.status === 'failed' && v.reel.stages ? failedStage(v) : 'textenc';
  $('replay-seed').value = '';
}

function failedStage(v) {
  return STAGES.find((n) => v.reel.stages[n] && v.reel.stages[n].state === 'failed') || 'textenc';
}

// derive posts a remix, extension or replay and selects the new video.
async function derive(ev, button, method, path, body) {
  ev.preventDefault();
  $('derive-error').textContent = '';
  $(button).disabled = true;
  try {
    const v = await api(method, path, body);
    update(v);
    select(v.id);
  } catch (e) {
    $('derive-error').textContent = e.message;
  } finally {
    $(button).disabled = false;
  }
}

function remix(ev) {
  const id = state.selected;
  derive(ev, 'remix', 'POST', `/v1/videos/${encodeURIComponent(id)}/remix`,
    { prompt: $('remix-prompt').value, strength: parseFloat($('remix-strength').value) });
}

function extend(ev) {
  const body = { video: { id: state.selected }, seconds: $('extend-seconds').value };
  if ($('extend-prompt').value) body.prompt = $('extend-prompt').value;
  derive(ev, 'extend', 'POST', '/v1/videos/extensions', body);
}

function replay(ev) {
  const body = { stage: $('replay-stage').value };
  if ($('replay-seed').value !== '') body.seed = parseInt($('replay-seed').value, 10);
  derive(ev, 'replay', 'POST', `/v1/videos/${encodeURIComponent(state.selected)}/replay`, body);
}

function showPlayer(v) {
  showDerive(v);
  const ready = v.status === 'completed';
  $('player').hidden = !ready;
  $('player-empty').hidden = ready;
  $('player-empty').textContent = ready ? '' : `${v.prompt}: ${v.status} ${v.progress}%`;
  if (!ready) return;
  const video = $('video');
  if (video.dataset.id !== v.id) {
    video.dataset.id = v.id;
    video.poster = contentURL(v.id, 'thumbnail');
    video.src = contentURL(v.id);
    video.play().catch(() => {});
  }
  $('player-caption').textContent = `${v.prompt} — ${v.seconds}s, ${v.size}, ${v.reel.encoder || ''}`;
  $('download').href = contentURL(v.id);
  $('download').download = `${v.id}.mp4`;
  $('download-poster').href = contentURL(v.id, 'thumbnail');
  $('download-gif').href = contentURL(v.id, 'spritesheet');
}

function select(id) {
  state.selected = id;
  for (const v of state.videos.values()) render(v);
}

async function refresh() {
  try {
    const page = await api('GET', '/v1/videos?limit=50');
    const ids = new Set(page.data.map((v) => v.id));
    for (const li of [...document.querySelectorAll('#queue li')]) {
      if (!ids.has(li.dataset.id)) { li.remove(); state.videos.delete(li.dataset.id); }
    }
    for (const v of [...page.data].reverse()) update(v);
  } catch (e) {
    $('create-error').textContent = e.message;
  }
}

async function cancel(id) {
  try { update(await api('POST', `/v1/videos/${encodeURIComponent(id)}/cancel`)); } catch (e) { $('create-error').textContent = e.message; }
}

async function remove(id) {
  try {
    await api('DELETE', `/v1/videos/${encodeURIComponent(id)}`);
    document.querySelector(`#queue li[data-id="${id}"]`)?.remove();
    state.videos.delete(id);
    if (state.selected === id) { state.selected = null; $('player').hidden = true; $('player-empty').hidden = false; $('derive').hidden = true; }
  } catch (e) { $('create-error').textContent = e.message; }
}

async function create(ev) {
  ev.preventDefault();
  $('create-error').textContent = '';
  const body = { prompt: $('prompt').value, seconds: $('seconds').value };
  if ($('negative').value) body.negative_prompt = $('negative').value;
  for (const k of ['steps', 'seed']) body[k] = parseInt($(k).value, 10);
  for (const k of ['guidance', 'shift']) body[k] = parseFloat($(k).value);
  $('generate').disabled = true;
  try {
    const v = await api('POST', '/v1/videos', body);
    state.selected = v.id;
    update(v);
    select(v.id);
  } catch (e) {
    $('create-error').textContent = e.message;
  } finally {
    $('generate').disabled = false;
  }
}

async function loadModel() {
  try {
    const models = await api('GET', '/v1/models');
    const m = models.data[0] && models.data[0].reel_manifest;
    if (!m) return;
    state.model = m;
    state.deriveFor = null; // the extend choices depend on the model
    const chunk = m.frames_per_chunk / m.fps;
    const sel = $('seconds');
    sel.replaceChildren();
    for (let n = 1; n <= Math.min(m.max_frames / m.frames_per_chunk, 12); n++) {
      const s = String(n * chunk);
      sel.append(el('option', { value: s, textContent: s, selected: n * m.frames_per_chunk === m.defaults.frames }));
    }
    $('steps').value = m.defaults.steps;
    $('steps').max = m.max_steps;
    $('guidance').value = m.defaults.guidance;
    $('shift').value = m.defaults.shift;
  } catch (e) {
    $('create-error').textContent = e.message;
  }
}

function mib(b) { return b ? `${(b / (1 << 20)).toFixed(0)} MiB` : ''; }

async function loadWorkers() {
  try {
    const ws = await api('GET', '/v1/workers');
    $('workers').replaceChildren(...ws.data.map((w) => el('tr', {},
      el('td', { textContent: w.stage }), el('td', { textContent: w.worker }), el('td', { textContent: w.device || 'cpu' }),
      el('td', { textContent: `${w.busy}/${w.concurrency}` }), el('td', { textContent: w.done }), el('td', { textContent: w.failed }),
      el('td', { textContent: w.mem_budget_bytes ? `${mib(w.mem_used_bytes)} / ${mib(w.mem_budget_bytes)}` : mib(w.heap_bytes) }),
      el('td', { textContent: (w.jobs || []).join(', ') }))));
  } catch (e) {
    $('workers').replaceChildren(el('tr', {}, el('td', { colSpan: 8, textContent: e.message })));
  }
}

function route() {
  const workers = location.hash === '#workers';
  $('videos-page').hidden = workers;
  $('workers-page').hidden = !workers;
  $('nav-videos').className = workers ? '' : 'active';
  $('nav-workers').className = workers ? 'active' : '';
  if (workers) loadWorkers();
}

document.addEventListener('DOMContentLoaded', () => {
  $('api-key').value = apiKey();
  if (apiKey()) setKey(apiKey());
  $('key-form').addEventListener('submit', (e) => { e.preventDefault(); setKey($('api-key').value.trim()); refresh(); loadModel(); });
  $('create-form').addEventListener('submit', create);
  $('remix-form').addEventListener('submit', remix);
  $('extend-form').addEventListener('submit', extend);
  $('replay-form').addEventListener('submit', replay);
  window.addEventListener('hashchange', route);
  route();
  loadModel();
  refresh();
  setInterval(() => { if (location.hash === '#workers') loadWorkers(); else refresh(); }, 3000);
});
