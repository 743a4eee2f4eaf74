// A smoke test of the page code in node, with a tiny fake DOM, fetch,
// EventSource and Web Audio (no browser here). It checks wiring, not looks.
// Run: node tests/page.smoke.js
'use strict';
const fs = require('fs');
const path = require('path');
const assert = require('node:assert/strict');

const dir = path.join(__dirname, '..', '..', '..', 'Sources', 'Studio', 'Resources');
const html = fs.readFileSync(path.join(dir, 'index.html'), 'utf8');
const js = fs.readFileSync(path.join(dir, 'studio.js'), 'utf8');

// ---- Static checks: every id the script uses exists; required test ids are there.
const htmlIds = new Set([...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]));
const usedIds = new Set([...js.matchAll(/\$\('([^']+)'\)/g)].map((m) => m[1]));
for (const [, id] of js.matchAll(/on\('([a-z-]+)', '/g)) usedIds.add(id);
for (const id of usedIds) assert.ok(htmlIds.has(id), `studio.js uses #${id}, missing in index.html`);
const testIds = new Set([...html.matchAll(/data-testid="([^"]+)"/g)].map((m) => m[1]));
for (const id of ['model', 'bars', 'seed', 'seed-random', 'temperature', 'top-p', 'chords', 'harmony-guidance',
  'style', 'key', 'density', 'tempo', 'generate', 'upload', 'continue', 'regenerate', 'roll', 'zoom-in',
  'zoom-out', 'play', 'stop', 'takes', 'download-midi', 'download-wav', 'error', 'status']) {
  assert.ok(testIds.has(id), `missing data-testid="${id}"`);
}
for (const m of html.matchAll(/<(input|select|button)\b[^>]*>/g)) {
  assert.match(m[0], /data-testid=/, `control without data-testid: ${m[0]}`);
  assert.match(m[0], /\sid=/, `control without id: ${m[0]}`);
}
assert.ok(!/https?:\/\//.test(html + js + fs.readFileSync(path.join(dir, 'studio.css'), 'utf8')), 'no network URLs');

// ---- A tiny DOM.
class El {
  constructor(tag, attrs = {}) {
    this.tagName = tag.toUpperCase();
    this.children = [];
    this.parent = null;
    this.dataset = {};
    this.style = {};
    this.attrs = {};
    this.listeners = {};
    this.hidden = false;
    this.disabled = false;
    this._text = '';
    this.className = '';
    this.classList = {
      toggle: (c, on) => { const s = new Set(this.className.split(' ').filter(Boolean)); (on === undefined ? !s.has(c) : on) ? s.add(c) : s.delete(c); this.className = [...s].join(' '); },
      contains: (c) => this.className.split(' ').includes(c),
    };
    Object.assign(this, attrs);
    this.clientWidth = 800;
    this.clientHeight = 400;
    this.scrollLeft = 0;
  }
  set textContent(v) { this.children = []; this._text = String(v); }
  get textContent() { return this._text + this.children.map((c) => (typeof c === 'string' ? c : c.textContent)).join(''); }
  append(...nodes) { for (const n of nodes) { if (typeof n === 'object') n.parent = this; this.children.push(n); } }
  prepend(n) { n.parent = this; this.children.unshift(n); }
  addEventListener(type, fn) { (this.listeners[type] = this.listeners[type] || []).push(fn); }
  dispatch(type, ev = {}) {
    const e = Object.assign({ type, target: this, preventDefault() { this.defaultPrevented = true; } }, ev);
    for (let n = this; n; n = n.parent) for (const fn of n.listeners[type] || []) fn(e);
    return e;
  }
  click() { return this.dispatch('click'); }
  setAttribute(k, v) { this.attrs[k] = v; }
  removeAttribute(k) { delete this.attrs[k]; if (k === 'href') delete this.href; if (k === 'download') delete this.download; }
  closest(sel) {
    for (let n = this; n && n.tagName; n = n.parent) {
      if (sel === 'a' && n.tagName === 'A') return n;
      if (sel === 'li[data-take]' && n.tagName === 'LI' && n.dataset.take) return n;
    }
    return null;
  }
  focus() {}
  setPointerCapture() {}
  getBoundingClientRect() { return { left: 0, top: 0, width: this.clientWidth, height: this.clientHeight }; }
  getContext() { return ctx2d; }
  get options() { const out = []; const walk = (n) => n.children.forEach((c) => { if (c.tagName === 'OPTION') out.push(c); else if (c.children) walk(c); }); walk(this); return out; }
  get value() {
    if (this.tagName !== 'SELECT') return this._value === undefined ? '' : this._value;
    const opts = this.options;
    if (this._value !== undefined) return opts.some((o) => o.value === this._value) ? this._value : '';
    return opts.length ? opts[0].value : '';
  }
  set value(v) { this._value = String(v); }
}
const drawn = { rects: 0, texts: [] };
const ctx2d = new Proxy({}, {
  get(target, key) {
    if (key === 'fillRect') return () => { drawn.rects++; };
    if (key === 'fillText') return (s) => drawn.texts.push(s);
    if (key in target) return target[key];
    return () => {};
  },
  set(target, key, v) { target[key] = v; return true; },
});

const byId = {};
for (const m of html.matchAll(/<(\w+)\b([^>]*)\sid="([^"]+)"([^>]*)>/g)) {
  const [, tag, before, id, after] = m;
  const el = new El(tag, { id });
  const attrs = before + after;
  const tid = attrs.match(/data-testid="([^"]+)"/);
  if (tid) el.dataset.testid = tid[1];
  const val = attrs.match(/\svalue="([^"]*)"/);
  if (val) el.value = val[1];
  if (/\shidden\b/.test(attrs)) el.hidden = true;
  byId[id] = el;
}
// The few options written in the HTML.
byId.style.append(new El('option', { value: 'any' }));
byId.key.append(new El('option', { value: 'any' }));
for (const v of ['any', 'sparse', 'medium', 'dense']) byId.density.append(new El('option', { value: v }));

const docListeners = {};
const body = new El('body');
global.document = {
  body,
  hidden: false,
  getElementById: (id) => byId[id] || null,
  createElement: (tag) => new El(tag),
  addEventListener: (type, fn) => { (docListeners[type] = docListeners[type] || []).push(fn); },
};
const keyboard = (key, target = body) => {
  const ev = { key, target, repeat: false, defaultPrevented: false, preventDefault() { this.defaultPrevented = true; } };
  for (const fn of docListeners.keydown || []) fn(ev);
  return ev;
};
global.Option = function Option(text, value) { return new El('option', { value, _text: text }); };
let onLoad;
global.window = {
  devicePixelRatio: 2,
  addEventListener: (type, fn) => { if (type === 'DOMContentLoaded') onLoad = fn; },
};
global.requestAnimationFrame = (fn) => setTimeout(fn, 16);
global.cancelAnimationFrame = (id) => clearTimeout(id);

// ---- Fake server.
const requests = [];
let nextTake = 1;
const pianoModel = { name: 'pretrained', label: 'Piano (maestro)', parts: ['Piano'], default: true,
  controls: { infill: true, chords: true, styles: ['bach', 'beethoven', 'chopin'], key: true, density: true, tempo: true } };
const popModel = { name: 'pop', label: 'Pop arrangement (POP909)', parts: ['MELODY', 'BRIDGE', 'PIANO'],
  controls: { infill: false, chords: true, styles: [], key: false, density: false, tempo: true } };
let failNextPost = null;
const doneTake = {
  id: 't0', status: 'done', queuePosition: 0, error: null, settings: { model: 'pretrained', bars: 2, seed: 5 },
  source: 'generated', name: 't0', tracks: [{ name: 'Piano', program: 0, isDrum: false }],
  notes: [{ track: 0, pitch: 60, velocity: 90, start: 0, end: 1 }, { track: 0, pitch: 64, velocity: 40, start: 4, end: 6 }],
  bars: [{ start: 0, beats: 4 }, { start: 4, beats: 4 }], tempos: [{ beat: 0, bpm: 120 }], seconds: 4,
};
const queuedTake = Object.assign({}, doneTake, { id: 'tq', name: 'tq', status: 'queued', queuePosition: 2, notes: [], bars: [] });
global.fetch = async (url, opts = {}) => {
  requests.push({ url, method: opts.method || 'GET', body: opts.body, headers: opts.headers });
  const reply = (status, data) => ({ ok: status < 400, status, statusText: '', text: async () => JSON.stringify(data) });
  if (url === '/api/models') return reply(200, { models: [pianoModel, popModel] });
  if (url === '/api/takes' && !opts.method) return reply(200, { takes: [doneTake, queuedTake] });
  if (url === '/api/takes' && opts.method === 'POST') {
    if (failNextPost) { const e = failNextPost; failNextPost = null; return reply(e[0], { error: e[1] }); }
    return reply(202, { id: `t${nextTake++}0`, queuePosition: 0 });
  }
  if (url.startsWith('/api/prompts')) {
    return reply(201, { id: 'u1', name: 'song.mid', bars: 2, notes: 2, take: Object.assign({}, doneTake, { id: 'u1', name: 'song.mid', source: 'upload' }) });
  }
  if (url.startsWith('/api/takes/')) return reply(200, doneTake);
  return reply(404, { error: 'no such thing' });
};
const streams = [];
global.EventSource = class {
  constructor(url) { this.url = url; this.listeners = {}; this.readyState = 1; this.closed = false; streams.push(this); }
  addEventListener(type, fn) { (this.listeners[type] = this.listeners[type] || []).push(fn); }
  emit(type, data) { for (const fn of this.listeners[type] || []) fn({ data: JSON.stringify(data) }); }
  close() { this.closed = true; this.readyState = 2; }
};
global.EventSource.CLOSED = 2;

// ---- Fake Web Audio: counts what gets started.
const audioLog = { oscillators: 0, noises: 0, stopped: 0 };
const param = () => ({ value: 0, setValueAtTime() {}, linearRampToValueAtTime() {}, exponentialRampToValueAtTime(v) { assert.ok(v > 0, 'exp ramp to 0'); }, setTargetAtTime() {} });
const node = (extra = {}) => Object.assign({ connect(n) { return n; }, disconnect() {}, gain: param(), frequency: param(), detune: param(), Q: param() }, extra);
const t0 = Date.now();
global.window.AudioContext = class {
  constructor() { this.state = 'running'; this.sampleRate = 8000; this.destination = node(); }
  get currentTime() { return (Date.now() - t0) / 1000; }
  resume() {}
  createGain() { return node(); }
  createBiquadFilter() { return node(); }
  createDynamicsCompressor() { return node({ threshold: param(), knee: param(), ratio: param(), attack: param(), release: param() }); }
  createBuffer(ch, len) { return { getChannelData: () => new Float32Array(len) }; }
  createOscillator() { return node({ start() { audioLog.oscillators++; }, stop() { audioLog.stopped++; } }); }
  createBufferSource() { return node({ start() { audioLog.noises++; }, stop() { audioLog.stopped++; } }); }
};

const S = require(path.join(dir, 'studio.js'));
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));
const $ = (id) => byId[id];

(async () => {
  onLoad();
  await tick(20);
  const studio = global.window.studio;
  assert.ok(studio, 'window.studio exposed');
  // Models loaded, default model chosen, its controls shown.
  assert.equal($('model').value, 'pretrained');
  assert.equal($('model').options.length, 2);
  assert.equal($('group-style').hidden, false);
  assert.deepEqual($('style').options.map((o) => o.value), ['any', 'bach', 'beethoven', 'chopin']);
  assert.equal($('key').options.length, 25);
  // Takes loaded: newest shown, the queued one gets a stream.
  assert.equal(studio.shownTake(), 'tq');
  assert.ok(streams.some((s) => s.url === '/api/takes/tq/events'));
  assert.match($('takes').children.find((li) => li.dataset.take === 'tq').textContent, /queued \(position 2\)/);
  assert.equal(body.dataset.state, 'generating');
  // Show the done take by clicking its entry.
  const t0li = $('takes').children.find((li) => li.dataset.take === 't0');
  t0li.click();
  assert.equal(studio.shownTake(), 't0');
  assert.equal(studio.noteCount(), 2);
  assert.equal($('download-midi').href, '/api/takes/t0/midi');
  assert.equal($('continue').disabled, false);
  assert.equal($('regenerate').disabled, true, 'nothing selected yet');
  // Select bar 2 by clicking, then bars 1-2 with shift.
  $('roll').dispatch('pointerdown', { button: 0, clientX: 44 + 120 + 10, shiftKey: false, pointerId: 1 });
  $('roll').dispatch('pointerup', {});
  assert.deepEqual(studio.selectedBars(), [2]);
  $('roll').dispatch('pointerdown', { button: 0, clientX: 44 + 10, shiftKey: true, pointerId: 1 });
  $('roll').dispatch('pointerup', {});
  assert.deepEqual(studio.selectedBars(), [1, 2]);
  assert.equal($('regenerate').disabled, false);
  keyboard('Escape');
  assert.deepEqual(studio.selectedBars(), []);
  // Drag select from bar 1 to bar 2.
  $('roll').dispatch('pointerdown', { button: 0, clientX: 50, pointerId: 1 });
  $('roll').dispatch('pointermove', { clientX: 44 + 200 });
  $('roll').dispatch('pointerup', {});
  assert.deepEqual(studio.selectedBars(), [1, 2]);
  // Regenerate selected bars -> an infill request.
  $('regenerate').click();
  await tick(10);
  let post = JSON.parse(requests.filter((r) => r.method === 'POST').pop().body);
  assert.deepEqual(post.infill, { take: 't0', first: 1, last: 2 });
  assert.equal(post.prompt, undefined);
  const infillId = studio.shownTake();
  assert.equal(infillId, 't10');
  // Stream events grow the roll and finish the take.
  const es = streams.find((s) => s.url === `/api/takes/${infillId}/events`);
  assert.ok(es, 'stream opened for the new take');
  es.emit('started', {});
  assert.match($('status').textContent, /Writing t10/);
  es.emit('bar', { bar: 1, notes: [{ track: 0, pitch: 67, velocity: 70, start: 0.5, end: 1 }] });
  assert.equal(studio.noteCount(), 1); // both infilled bars emptied by the placeholder, bar 1 refilled
  es.emit('done', { take: Object.assign({}, doneTake, { id: infillId, name: infillId }) });
  assert.ok(es.closed);
  assert.match($('shown-title').textContent, /done/);
  // Continue from a selection -> prompt of the first N bars; pop model shows fewer controls.
  $('model').value = 'pop';
  $('model').dispatch('change');
  assert.equal($('group-style').hidden, true);
  assert.equal($('group-key').hidden, true);
  $('roll').dispatch('pointerdown', { button: 0, clientX: 50, pointerId: 1 });
  $('roll').dispatch('pointerup', {});
  assert.equal($('regenerate').disabled, true, 'pop cannot infill');
  $('continue').click();
  await tick(10);
  post = JSON.parse(requests.filter((r) => r.method === 'POST').pop().body);
  assert.deepEqual(post.prompt, { take: infillId, bars: 1 });
  assert.equal(post.model, 'pop');
  assert.equal(post.key, undefined);
  // A failing request shows the server's reason and leaves the page usable.
  failNextPost = [400, 'chords: cannot parse "H:maj"'];
  byId.settings.dispatch('submit');
  await tick(10);
  assert.equal($('error').hidden, false);
  assert.match($('error-text').textContent, /cannot parse "H:maj"/);
  assert.equal($('generate').disabled, false);
  $('error-dismiss').click();
  assert.equal($('error').hidden, true);
  // A failed take.
  const last = streams[streams.length - 1];
  last.emit('failed', { error: 'model crashed' });
  assert.equal($('error').hidden, false);
  assert.match($('takes').children[0].textContent, /failed: model crashed/);
  // Upload: raw bytes, name in the query.
  $('upload').files = [{ name: 'song.mid', size: 1234, arrayBuffer: async () => new ArrayBuffer(4) }];
  $('upload').dispatch('change');
  await tick(10);
  const up = requests.find((r) => r.url.startsWith('/api/prompts'));
  assert.equal(up.url, '/api/prompts?name=song.mid');
  assert.equal(up.headers['Content-Type'], 'audio/midi');
  assert.equal(studio.shownTake(), 'u1');
  $('upload').files = [{ name: 'big.mid', size: 3e6 }];
  $('upload').dispatch('change');
  assert.match($('error-text').textContent, /up to 2 MB/);
  // Playback: Space starts, voices get scheduled, Space stops.
  const ev = keyboard(' ', $('play'));
  assert.ok(ev.defaultPrevented);
  assert.equal(body.dataset.state, 'playing');
  await tick(80);
  assert.ok(audioLog.oscillators >= 1, 'first note scheduled');
  keyboard(' ');
  assert.notEqual(body.dataset.state, 'playing');
  assert.equal(keyboard(' ', new El('input', { type: 'text' })).defaultPrevented, false, 'space types in text fields');
  // Zoom changes the scroll width.
  const before = $('roll-spacer').style.width;
  $('zoom-in').click();
  assert.notEqual($('roll-spacer').style.width, before);
  assert.ok(drawn.texts.includes('C4') || drawn.texts.some((t) => /^C\d$/.test(t)), 'C labels drawn');
  // Drums and every family produce sound without throwing.
  const drumTake = S.normalizeTake({ id: 'd1', tracks: [{ name: 'Drums', isDrum: true }, ...Array.from({ length: 16 }, (_, f) => ({ name: `f${f}`, program: f * 8 }))],
    notes: [35, 38, 42, 46, 49, 45, 70].map((p, i) => ({ track: 0, pitch: p, velocity: 100, start: i * 0.1, end: i * 0.1 + 0.1 }))
      .concat(Array.from({ length: 16 }, (_, f) => ({ track: f + 1, pitch: 60, velocity: 64, start: 0.05, end: 0.5 }))) });
  await fetchLike(drumTake);
  console.log('page smoke test: all checks passed', audioLog);
  process.exit(0);
})().catch((err) => { console.error(err); process.exit(1); });

// Shows a hand-made take through the upload path and plays it briefly.
async function fetchLike(take) {
  const orig = global.fetch;
  global.fetch = async () => ({ ok: true, status: 201, text: async () => JSON.stringify({ id: take.id, name: 'drums', take }) });
  byId.upload.files = [{ name: 'drums.mid', size: 10, arrayBuffer: async () => new ArrayBuffer(1) }];
  byId.upload.dispatch('change');
  await tick(10);
  global.fetch = orig;
  const before = audioLog.noises;
  byId.play.click();
  await tick(120);
  byId.stop.click();
  assert.ok(audioLog.noises > before, 'noise drums played');
}
