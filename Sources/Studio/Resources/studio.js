/*
 * Cadenza Studio: the browser page of the Cadenza music generator.
 * One plain script, no build step. Pure helpers come first (node can require
 * them for unit tests); the page itself (settings, takes, event streams,
 * piano roll, Web Audio playback) runs only in a browser.
 * The server contract the page relies on is in API.md next to this file.
 */
'use strict';

// ===== Pure helpers ==========================================================

const NOTE_NAMES = ['C', 'C#', 'D', 'D#', 'E', 'F', 'F#', 'G', 'G#', 'A', 'A#', 'B'];
const DENSITIES = ['sparse', 'medium', 'dense'];
const MAX_UPLOAD_BYTES = 2 * 1024 * 1024; // the server answers 413 above this
const FAMILY_NAMES = ['piano', 'chromatic percussion', 'organ', 'guitar', 'bass', 'strings',
  'ensemble', 'brass', 'reed', 'pipe', 'synth lead', 'synth pad', 'synth effects', 'ethnic',
  'percussive', 'sound effects'];

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
const midiToFreq = (pitch) => 440 * Math.pow(2, (pitch - 69) / 12);
/** "C4" for 60: the usual convention where middle C is C4. */
const pitchName = (pitch) => NOTE_NAMES[((pitch % 12) + 12) % 12] + (Math.floor(pitch / 12) - 1);
const isUnfinished = (take) => take.status === 'queued' || take.status === 'writing';
const copy = (o) => Object.assign({}, o);

/** The 24 keys, spelled the way the server expects them ("C# major"). */
function keyNames() {
  return ['major', 'minor'].flatMap((mode) => NOTE_NAMES.map((n) => `${n} ${mode}`));
}

/** General MIDI family (0-15) of a program; anything invalid plays as piano. */
function programFamily(program) {
  const p = Number(program);
  return Number.isInteger(p) && p >= 0 && p <= 127 ? p >> 3 : 0;
}

/** Which drum sound a General MIDI percussion key gets. */
function drumKind(pitch) {
  if (pitch === 35 || pitch === 36) return 'kick';
  if (pitch >= 37 && pitch <= 40) return 'snare';
  if (pitch === 42 || pitch === 44 || pitch === 46) return 'hihat';
  if (pitch === 49 || (pitch >= 51 && pitch <= 59)) return 'cymbal';
  if (pitch >= 41 && pitch <= 50) return 'tom';
  return 'other';
}

/** Index of the last item whose key is <= value (0 if none): sorted lists only. */
function lastAtOrBefore(list, key, value) {
  let lo = 0;
  let hi = list.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (list[mid][key] <= value) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

// Beats <-> seconds for a piecewise-constant tempo list. Before the first
// entry MIDI's default 120 bpm holds; broken entries are ignored rather than
// breaking playback. Binary search because uploaded files can have many tempos.
function makeTempoMap(tempos) {
  const list = (Array.isArray(tempos) ? tempos : [])
    .filter((t) => t && Number.isFinite(t.beat) && t.beat >= 0 && t.bpm > 0)
    .sort((a, b) => a.beat - b.beat);
  if (!list.length || list[0].beat > 0) list.unshift({ beat: 0, bpm: 120 });
  const segs = [];
  let sec = 0;
  list.forEach((t, i) => {
    if (i > 0) sec += ((t.beat - list[i - 1].beat) * 60) / list[i - 1].bpm;
    segs.push({ beat: t.beat, bpm: t.bpm, sec });
  });
  return {
    toSeconds(beat) {
      const s = segs[lastAtOrBefore(segs, 'beat', beat)];
      return s.sec + ((beat - s.beat) * 60) / s.bpm;
    },
    toBeats(seconds) {
      const s = segs[lastAtOrBefore(segs, 'sec', seconds)];
      return s.beat + ((seconds - s.sec) * s.bpm) / 60;
    },
  };
}

const beatsToSeconds = (beat, tempos) => makeTempoMap(tempos).toSeconds(beat);
const secondsToBeats = (seconds, tempos) => makeTempoMap(tempos).toBeats(seconds);

/** Index of the bar holding a beat (-1 before the first bar). */
function barIndexAtBeat(beat, bars) {
  if (!bars.length || beat < bars[0].start) return -1;
  return lastAtOrBefore(bars, 'start', beat);
}

// Horizontal position of a beat when every bar is drawn equally wide,
// whatever its metre (a 3/4 bar is as wide as a 4/4 one, as in a score).
// Past the last bar the last bar's width per beat carries on.
function beatToX(beat, bars, pxPerBar) {
  if (!bars.length) return (beat / 4) * pxPerBar;
  const i = Math.max(0, barIndexAtBeat(beat, bars));
  const beats = bars[i].beats > 0 ? bars[i].beats : 4;
  return (i + (beat - bars[i].start) / beats) * pxPerBar;
}

/** Bar index under x (content pixels); with clampToBars, the nearest bar (for drags). */
function barAtX(x, bars, pxPerBar, clampToBars) {
  if (!bars.length) return -1;
  const i = Math.floor(x / pxPerBar);
  if (clampToBars) return clamp(i, 0, bars.length - 1);
  return i >= 0 && i < bars.length ? i : -1;
}

const barRange = (a, b) => ({ first: Math.min(a, b), last: Math.max(a, b) });

/** How many first bars a continuation keeps: up to the selection's end, else all. */
const continueBars = (take, selection) => (selection ? selection.last + 1 : take.bars.length);

/** Grows a bar list to count bars, repeating the last bar's metre (4/4 at first). */
function extendBars(bars, count) {
  while (bars.length < count) {
    const prev = bars[bars.length - 1];
    bars.push(prev ? { start: prev.start + prev.beats, beats: prev.beats } : { start: 0, beats: 4 });
  }
  return bars;
}

/** Pitches to show: the notes' span with a margin, never less than two octaves. */
function pitchRange(notes) {
  if (!notes.length) return [48, 84];
  let lo = notes.reduce((m, n) => Math.min(m, n.pitch), 127) - 2;
  let hi = notes.reduce((m, n) => Math.max(m, n.pitch), 0) + 2;
  const missing = 24 - (hi - lo);
  if (missing > 0) { lo -= Math.floor(missing / 2); hi += Math.ceil(missing / 2); }
  if (lo < 0) { hi -= lo; lo = 0; }
  if (hi > 127) { lo -= hi - 127; hi = 127; }
  return [Math.max(0, lo), hi];
}

/** A track colour paled towards white for soft notes. */
function shade(hex, velocity) {
  const white = 0.7 * (1 - clamp(Number(velocity) || 0, 0, 127) / 127);
  const rgb = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `rgb(${rgb.map((c) => Math.round(c + (255 - c) * white)).join(', ')})`;
}

/** Makes any take JSON safe to use: arrays present, bars known, status set. */
function normalizeTake(raw) {
  const take = copy(raw);
  take.id = String(take.id);
  take.name = take.name || take.id;
  take.status = take.status || 'done';
  take.settings = take.settings || {};
  take.source = take.source || 'generated';
  take.tracks = Array.isArray(take.tracks) ? take.tracks : [];
  take.tempos = Array.isArray(take.tempos) ? take.tempos : [];
  take.notes = (Array.isArray(take.notes) ? take.notes : []).filter(
    (n) => n && Number.isFinite(n.start) && Number.isFinite(n.end) && Number.isFinite(n.pitch));
  take.bars = Array.isArray(take.bars) ? take.bars.filter((b) => b && Number.isFinite(b.start)) : [];
  if (!take.bars.length && take.notes.length) {
    // No bar list from the server: assume 4/4 over the notes.
    extendBars(take.bars, Math.max(1, Math.ceil(take.notes.reduce((m, n) => Math.max(m, n.end), 0) / 4)));
  }
  take.barsDone = take.barsDone || 0;
  return take;
}

// Applies one "bar" event: makes sure the bar exists, then replaces the notes
// starting in it. Replacing (not appending) keeps replays after a reconnect
// harmless and lets an infill overwrite the bars it rewrites.
function applyBarEvent(take, data) {
  const n = Number(data.bar);
  if (!Number.isInteger(n) || n < 1) return false;
  extendBars(take.bars, n);
  if (Number.isFinite(data.start) && data.beats > 0) take.bars[n - 1] = { start: data.start, beats: data.beats };
  const bar = take.bars[n - 1];
  const end = bar.start + bar.beats;
  const fresh = (Array.isArray(data.notes) ? data.notes : []).filter((x) => x && Number.isFinite(x.start));
  take.notes = take.notes.filter((x) => x.start < bar.start || x.start >= end).concat(fresh);
  if (Array.isArray(data.tracks)) take.tracks = data.tracks;
  take.status = 'writing';
  take.queuePosition = 0;
  take.barsDone = Math.max(take.barsDone || 0, n);
  return true;
}

// Turns the form's strings into a POST /api/takes body, leaving out controls
// the model lacks and "any" choices. Returns the problems to show instead of
// sending a request the server would refuse. An empty seed becomes a random
// one chosen here, so every take records the seed that made it.
function buildTakeRequest(form, model, extra = {}) {
  const errors = [];
  const c = (model && model.controls) || {};
  const body = { model: form.model };
  const num = (s) => (s === undefined || s === null || String(s).trim() === '' ? NaN : Number(s));
  if (!form.model) errors.push('Choose a model.');
  // Checks one numeric field and copies it into the body, or notes the problem.
  const field = (name, ok, problem) => {
    const v = num(form[name]);
    if (ok(v)) body[name] = v;
    else errors.push(problem);
  };
  if (!extra.infill) field('bars', (v) => Number.isInteger(v) && v >= 1 && v <= 64, 'Bars must be a whole number from 1 to 64.');
  if (Number.isNaN(num(form.seed))) body.seed = extra.randomSeed ? extra.randomSeed() : 1;
  else field('seed', (v) => Number.isInteger(v) && v >= 0 && v <= 4294967295, 'Seed must be a whole number, 0 or more.');
  field('temperature', (v) => v > 0 && v <= 5, 'Temperature must be above 0 and at most 5.');
  field('topP', (v) => v > 0 && v <= 1, 'Top-p must be above 0 and at most 1.');
  const chords = String(form.chords || '').trim().replace(/\s+/g, ' ');
  if (c.chords && chords) {
    body.chords = chords;
    if (Number.isNaN(num(form.harmonyGuidance))) body.harmonyGuidance = 4;
    else field('harmonyGuidance', (v) => v >= 0 && v <= 50, 'Harmony guidance must be from 0 to 50.');
  }
  if (Array.isArray(c.styles) && c.styles.includes(form.style)) body.style = form.style;
  if (c.key && keyNames().includes(form.key)) body.key = form.key;
  if (c.density && DENSITIES.includes(form.density)) body.density = form.density;
  // An infill keeps the take's tempos, so the tempo field is not sent with one.
  if (c.tempo && !extra.infill && String(form.tempo || '').trim() !== '') {
    field('tempo', (v) => Number.isInteger(v) && v >= 20 && v <= 300, 'Tempo must be a whole number from 20 to 300 bpm (or empty for the model\'s own).');
  }
  if (extra.prompt) body.prompt = extra.prompt;
  if (extra.infill) body.infill = extra.infill;
  return { body, errors };
}

// What a new take looks like before the server says more: the prompt's kept
// bars for a continuation, the source minus the rewritten bars for an infill,
// otherwise empty with the model's parts as tracks.
function placeholderTake(id, body, queuePosition, model, source) {
  const take = normalizeTake({ id, name: id, status: 'queued', queuePosition, settings: body });
  if (model && Array.isArray(model.parts)) {
    take.tracks = model.parts.map((name) => ({ name, program: 0, isDrum: false }));
  }
  if (!source || !(body.prompt || body.infill)) return take;
  take.tracks = source.tracks.map(copy);
  take.tempos = source.tempos.map(copy);
  if (body.prompt) {
    take.bars = source.bars.slice(0, body.prompt.bars).map(copy);
    const last = take.bars[take.bars.length - 1];
    const end = last ? last.start + last.beats : 0;
    take.notes = source.notes.filter((n) => n.start < end).map(copy);
  } else {
    take.bars = source.bars.map(copy);
    const a = source.bars[body.infill.first - 1];
    const z = source.bars[body.infill.last - 1];
    const from = a ? a.start : Infinity;
    const to = z ? z.start + z.beats : -Infinity;
    take.notes = source.notes.filter((n) => n.start < from || n.start >= to).map(copy);
  }
  return take;
}

function formatTime(seconds) {
  const s = Math.max(0, Math.round(seconds || 0));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** Settings as short lines for the takes list; nameOf turns take ids into names. */
function describeSettings(take, nameOf = (id) => id) {
  const s = take.settings || {};
  if (take.source === 'upload') return [`uploaded MIDI · ${take.bars.length} bars · ${take.notes.length} notes`];
  const main = [s.model || '?'];
  if (s.bars && !s.infill) main.push(`${s.bars} bars`);
  if (s.seed !== undefined) main.push(`seed ${s.seed}`);
  if (s.temperature !== undefined) main.push(`temp ${s.temperature}`);
  if (s.topP !== undefined) main.push(`top-p ${s.topP}`);
  const controls = [];
  if (s.chords) controls.push(`chords ${s.chords}${s.harmonyGuidance !== undefined ? ` (×${s.harmonyGuidance})` : ''}`);
  if (s.style) controls.push(`style ${s.style}`);
  if (s.key) controls.push(s.key);
  if (s.density) controls.push(s.density);
  if (s.tempo) controls.push(`${s.tempo} bpm`);
  const lines = [main.join(' · ')];
  if (controls.length) lines.push(controls.join(' · '));
  if (s.prompt) lines.push(`continues ${nameOf(s.prompt.take)} (bars 1–${s.prompt.bars})`);
  if (s.infill) lines.push(`regenerates ${barSpan(s.infill.first, s.infill.last)} of ${nameOf(s.infill.take)}`);
  return lines;
}

/** "bar 3" or "bars 3–4". */
function barSpan(first, last) {
  return first === last ? `bar ${first}` : `bars ${first}–${last}`;
}

/** The take's tempo as a musician reads it: "114 bpm", or "90–117 bpm" when it changes; '' if unknown. */
function describeTempo(take) {
  const bpms = (take.tempos || []).map((t) => Number(t.bpm)).filter((b) => Number.isFinite(b) && b > 0);
  if (!bpms.length) return '';
  const lo = Math.round(Math.min(...bpms)), hi = Math.round(Math.max(...bpms));
  return lo === hi ? `${lo} bpm` : `${lo}–${hi} bpm`;
}

/** Bars a generated take will have when finished (0 when unknown). */
function expectedBars(take) {
  const s = take.settings || {};
  if (s.infill) return s.infill.last;
  return s.bars ? s.bars + (s.prompt ? s.prompt.bars : 0) : 0;
}

function describeStatus(take) {
  if (take.status === 'queued') {
    return take.queuePosition > 0 ? `queued (position ${take.queuePosition})` : 'starting…';
  }
  if (take.status === 'writing') {
    const total = expectedBars(take);
    if (!take.barsDone) return 'writing…';
    return total ? `writing bar ${take.barsDone} of ${total}` : `writing bar ${take.barsDone}`;
  }
  if (take.status === 'failed') return `failed: ${take.error || 'unknown error'}`;
  const tempo = describeTempo(take);
  return ['done', take.seconds ? formatTime(take.seconds) : '', tempo].filter(Boolean).join(' · ');
}

if (typeof module !== 'undefined' && module.exports) {
  module.exports = {
    keyNames, programFamily, drumKind, midiToFreq, pitchName, makeTempoMap, beatsToSeconds, barSpan, describeTempo,
    secondsToBeats, barIndexAtBeat, beatToX, barAtX, barRange, continueBars, extendBars,
    pitchRange, shade, normalizeTake, applyBarEvent, buildTakeRequest, placeholderTake,
    formatTime, describeSettings, describeStatus, expectedBars, isUnfinished, FAMILY_NAMES,
  };
}

// ===== The page ==============================================================

if (typeof window !== 'undefined' && typeof document !== 'undefined') {
  window.addEventListener('DOMContentLoaded', startStudio);
}

function startStudio() {
  const $ = (id) => document.getElementById(id);
  const PALETTE = ['#4e79a7', '#e8863a', '#59a14f', '#d65f5f', '#9d7bb0', '#3fa7a0', '#d4a72c', '#e58fa6', '#8c6d52'];
  const BLACK_KEYS = [1, 3, 6, 8, 10];
  const GUTTER = 44; // keyboard labels on the left of the roll
  const FOOT = 22; // bar numbers under the roll
  const MAX_STREAMS = 3; // browsers allow ~6 connections per host; keep room for fetches

  const state = {
    models: [], takes: new Map() /* id -> take, creation order */, shownId: null,
    selection: null /* {first, last}: 0-based bar indexes */, anchor: null, drag: null, pxPerBar: 120,
    busy: null /* text of the request in flight */, streams: new Map() /* id -> EventSource */,
    gaveUp: new Set() /* takes whose stream broke: polled instead */, pollTimer: null, player: null,
    failing: {} /* which loaders already showed their error */,
  };

  // ----- Small page utilities ----------------------------------------------

  /** fetch + JSON, with the server's {"error"} turned into a thrown message. */
  async function api(path, options = {}) {
    let res;
    try { res = await fetch(path, options); } catch (err) {
      throw new Error('cannot reach the Cadenza server (is it running?)');
    }
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (err) { /* not JSON */ }
    if (!res.ok) {
      const reason = (data && data.error) || text.trim().slice(0, 200) || res.statusText || `HTTP ${res.status}`;
      throw new Error(res.status === 413 ? `the file is too large (${reason})` : reason);
    }
    return data;
  }

  /** Shows an error once per trouble spot (key), so retries don't re-open a dismissed banner. */
  function showError(message, key) {
    if (key && state.failing[key]) return;
    if (key) state.failing[key] = true;
    $('error-text').textContent = message;
    $('error').hidden = false;
  }

  const recovered = (key) => { state.failing[key] = false; };
  const clearError = () => { $('error').hidden = true; };
  const shownTake = () => (state.shownId ? state.takes.get(state.shownId) || null : null);
  const currentModel = () => state.models.find((m) => m.name === $('model').value) || null;
  const nameOf = (id) => (state.takes.has(id) ? state.takes.get(id).name : id);

  function el(tag, className, text) {
    const node = document.createElement(tag);
    node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** The body's data-state, the status line and the buttons, all derived from state. */
  function refresh() {
    const takes = [...state.takes.values()];
    const writing = takes.find((t) => t.status === 'writing');
    const queued = takes.filter((t) => t.status === 'queued').length;
    document.body.dataset.state = state.player ? 'playing' : writing || queued ? 'generating' : 'idle';
    let line = 'Ready.';
    const p = state.player;
    if (state.busy) line = state.busy;
    else if (p) line = `Playing ${nameOf(p.takeId)}${p.fromBar > 1 ? ` from bar ${p.fromBar}` : ''}.`;
    else if (writing) line = `Writing ${writing.name}: ${describeStatus(writing)}.`;
    else if (queued) line = `${queued} take${queued > 1 ? 's' : ''} waiting in the queue.`;
    else if (!state.models.length) line = 'Waiting for the server…';
    if (writing && (state.busy || p)) line += ` (${writing.name}: ${describeStatus(writing)})`;
    $('status').textContent = line;
    updateButtons();
  }

  function updateButtons() {
    const take = shownTake();
    const model = currentModel();
    const ready = !!take && take.status === 'done' && take.bars.length > 0;
    const canInfill = !!(model && model.controls && model.controls.infill);
    $('generate').disabled = !!state.busy || !model;
    $('continue').disabled = !!state.busy || !model || !ready;
    $('regenerate').disabled = !!state.busy || !model || !ready || !state.selection || !canInfill;
    $('regenerate').title = !canInfill ? 'This model cannot regenerate bars.'
      : !state.selection ? 'Select bars in the roll first.' : '';
    $('continue').title = state.selection ? `Keep bars 1–${state.selection.last + 1} and continue`
      : 'Continue after the whole take';
    $('play').disabled = !take || !take.notes.length;
    $('stop').disabled = !state.player;
    setLink($('download-midi'), ready ? take : null, 'midi');
    setLink($('download-wav'), ready ? take : null, 'wav');
  }

  /** Points a download link at a done take, or greys it out. */
  function setLink(a, take, kind) {
    a.classList.toggle('disabled', !take);
    if (take) {
      a.href = `/api/takes/${encodeURIComponent(take.id)}/${kind}`;
      a.download = `${take.name.replace(/\.midi?$/i, '')}.${kind === 'midi' ? 'mid' : 'wav'}`;
      a.removeAttribute('aria-disabled');
    } else {
      a.removeAttribute('href');
      a.removeAttribute('download');
      a.setAttribute('aria-disabled', 'true');
    }
  }

  // ----- Settings ------------------------------------------------------------

  const FIELDS = { model: 'model', bars: 'bars', seed: 'seed', temperature: 'temperature', topP: 'top-p',
    chords: 'chords', harmonyGuidance: 'harmony-guidance', style: 'style', key: 'key', density: 'density',
    tempo: 'tempo' }; // form field -> element id

  function readForm() {
    const form = {};
    for (const [field, id] of Object.entries(FIELDS)) form[field] = $(id).value;
    return form;
  }

  function fillKeys() {
    for (const mode of ['major', 'minor']) {
      const group = document.createElement('optgroup');
      group.label = mode;
      for (const k of keyNames().filter((name) => name.endsWith(mode))) group.append(new Option(k, k));
      $('key').append(group);
    }
  }

  /** Fetches the models; retries quietly so a server started later still works. */
  async function loadModels() {
    try {
      const data = await api('/api/models');
      state.models = data && Array.isArray(data.models) ? data.models : [];
      if (!state.models.length) throw new Error('the server has no models');
      $('model').textContent = '';
      for (const m of state.models) $('model').append(new Option(m.label || m.name, m.name));
      $('model').value = (state.models.find((m) => m.default) || state.models[0]).name;
      recovered('models');
      onModelChange();
    } catch (err) {
      showError(`Could not load the models: ${err.message}. Retrying…`, 'models');
      setTimeout(loadModels, 5000);
    }
    refresh();
  }

  /** Shows only the controls the chosen model understands. */
  function onModelChange() {
    const model = currentModel();
    const c = (model && model.controls) || {};
    const styles = Array.isArray(c.styles) ? c.styles : [];
    $('model-parts').textContent = model && model.parts ? `Parts: ${model.parts.join(', ')}` : '';
    $('group-chords').hidden = !c.chords;
    $('group-style').hidden = !styles.length;
    $('group-key').hidden = !c.key;
    $('group-density').hidden = !c.density;
    $('group-tempo').hidden = !c.tempo;
    const wanted = $('style').value; // kept when the new model knows the same style
    $('style').textContent = '';
    for (const s of ['any', ...styles]) $('style').append(new Option(s, s));
    $('style').value = styles.includes(wanted) ? wanted : 'any';
    refresh();
  }

  // ----- Takes: list, requests, event streams --------------------------------

  /** Adds or replaces a take and redraws what depends on it. */
  function putTake(raw) {
    const take = normalizeTake(raw);
    const old = state.takes.get(take.id);
    if (old && isUnfinished(take)) take.barsDone = Math.max(take.barsDone, old.barsDone);
    state.takes.set(take.id, take);
    takeChanged(take);
    return take;
  }

  function updateTake(id, change) {
    const take = state.takes.get(id);
    if (!take) return;
    change(take);
    takeChanged(take);
  }

  function takeChanged(take) {
    renderTakeEntry(take);
    if (take.id === state.shownId) {
      if (state.selection && state.selection.last >= take.bars.length) state.selection = null;
      showTitle();
      layoutRoll();
    }
    refresh();
  }

  function renderTakeEntry(take) {
    let li = document.getElementById(`take-${take.id}`);
    if (!li) {
      li = Object.assign(document.createElement('li'), { id: `take-${take.id}`, tabIndex: 0 });
      Object.assign(li.dataset, { testid: `take-${take.id}`, take: take.id });
      $('takes').prepend(li); // newest first
      $('takes-empty').hidden = true;
    }
    li.className = `take ${take.status}${take.id === state.shownId ? ' is-shown' : ''}`;
    li.textContent = '';
    const head = el('div', 'take-head');
    head.append(el('span', 'take-name', take.name), el('span', 'badge', describeStatus(take)));
    li.append(head);
    for (const line of describeSettings(take, nameOf)) li.append(el('div', 'take-meta', line));
    if (take.status !== 'done') return;
    const links = el('div', 'take-links');
    for (const kind of ['midi', 'wav']) {
      const a = el('a', 'button', kind.toUpperCase());
      a.dataset.testid = `take-${kind}-${take.id}`;
      setLink(a, take, kind);
      links.append(a);
    }
    li.append(links);
  }

  function showTake(id) {
    if (!state.takes.has(id)) return;
    if (state.player && state.player.takeId !== id) stopPlayback();
    if (state.shownId !== id) roll.scroller.scrollLeft = 0;
    state.shownId = id;
    state.selection = null;
    state.anchor = null;
    for (const li of $('takes').children) li.classList.toggle('is-shown', li.dataset.take === id);
    showTitle();
    layoutRoll();
    refresh();
  }

  function showTitle() {
    const take = shownTake();
    $('shown-title').textContent = take ? `${take.name} · ${describeStatus(take)}` : 'No take shown';
    $('legend').textContent = '';
    if (!take) return;
    take.tracks.forEach((t, i) => {
      const swatch = el('i', '');
      swatch.style.background = PALETTE[i % PALETTE.length];
      const kind = t.isDrum ? 'drums' : FAMILY_NAMES[programFamily(t.program)];
      const item = el('span', 'legend-item');
      const name = t.name || `Track ${i + 1}`;
      // "Piano", not "Piano (piano)": the sound is named only where the name does not say it.
      item.append(swatch, name.toLowerCase() === kind.toLowerCase() ? name : `${name} (${kind})`);
      $('legend').append(item);
    });
  }

  // Reads every take at load (retrying until the server answers); as the poll,
  // only the unfinished takes that have no live stream.
  async function loadTakes(atStart) {
    state.pollTimer = null;
    const polled = atStart ? [] : [...state.takes.values()]
      .filter((t) => isUnfinished(t) && !state.streams.has(t.id)).map((t) => t.id);
    if (!atStart && !polled.length) { syncStreams(); return; }
    try {
      const query = atStart ? '' : `?ids=${polled.map(encodeURIComponent).join(',')}`;
      const data = await api(`/api/takes${query}`);
      mergeTakes((data && data.takes) || []);
      recovered('takes');
      if (!state.shownId && state.takes.size) showTake([...state.takes.keys()].pop());
    } catch (err) {
      showError(`Could not load the takes: ${err.message}. Retrying…`, 'takes');
      if (atStart) setTimeout(() => loadTakes(true), 5000);
    }
    syncStreams();
  }

  /** Server snapshots win, except over a take whose live stream is ahead of them. */
  function mergeTakes(list) {
    for (const raw of list) {
      if (!raw || raw.id === undefined) continue;
      const id = String(raw.id);
      if (state.takes.has(id) && state.streams.has(id) && isUnfinished(raw)) {
        updateTake(id, (t) => { t.status = raw.status; t.queuePosition = raw.queuePosition; });
      } else {
        putTake(raw);
      }
    }
  }

  async function refreshTake(id) {
    try {
      putTake(await api(`/api/takes/${encodeURIComponent(id)}`));
    } catch (err) {
      showError(`Could not read take ${nameOf(id)}: ${err.message}`);
    }
    syncStreams();
  }

  // Live streams for the few takes nearest the front of the queue; the rest
  // (and any whose stream broke) are polled through GET /api/takes.
  function syncStreams() {
    const rank = (t) => (t.status === 'writing' ? -1 : t.queuePosition || 0);
    const pending = [...state.takes.values()].filter(isUnfinished).sort((a, b) => rank(a) - rank(b));
    const wanted = new Set(pending.filter((t) => !state.gaveUp.has(t.id)).slice(0, MAX_STREAMS).map((t) => t.id));
    for (const id of [...state.streams.keys()]) if (!wanted.has(id)) closeStream(id);
    for (const id of wanted) if (!state.streams.has(id)) openStream(id);
    const polled = pending.some((t) => !state.streams.has(t.id));
    if (polled && !state.pollTimer) state.pollTimer = setTimeout(loadTakes, 3000);
  }

  function openStream(id) {
    const es = new EventSource(`/api/takes/${encodeURIComponent(id)}/events`);
    let failures = 0;
    state.streams.set(id, es);
    const on = (name, handle) => es.addEventListener(name, (ev) => {
      failures = 0;
      let data;
      try { data = JSON.parse(ev.data || '{}') || {}; } catch (err) { return; }
      handle(data);
    });
    on('queued', (d) => updateTake(id, (t) => { t.status = 'queued'; t.queuePosition = d.position; }));
    on('started', (d) => updateTake(id, (t) => {
      Object.assign(t, { status: 'writing', queuePosition: 0 }, Array.isArray(d.tracks) ? { tracks: d.tracks } : {});
    }));
    on('bar', (d) => {
      const take = state.takes.get(id);
      if (!take) return;
      const follow = id === state.shownId && lastBarVisible(take);
      updateTake(id, (t) => applyBarEvent(t, d));
      if (follow) scrollToBar(take.bars.length - 1);
    });
    on('done', (d) => {
      closeStream(id);
      if (d.take) putTake(d.take);
      else refreshTake(id);
      syncStreams();
    });
    on('failed', (d) => {
      closeStream(id);
      const reason = d.error || 'unknown error';
      updateTake(id, (t) => { t.status = 'failed'; t.error = reason; });
      showError(`Take ${nameOf(id)} failed: ${reason}`);
      syncStreams();
    });
    // EventSource reconnects by itself; after repeated trouble fall back to polling.
    es.onerror = () => {
      failures += 1;
      if (es.readyState !== EventSource.CLOSED && failures < 3) return;
      closeStream(id);
      state.gaveUp.add(id);
      refreshTake(id);
    };
  }

  function closeStream(id) {
    if (state.streams.has(id)) state.streams.get(id).close();
    state.streams.delete(id);
  }

  /** Sends a take request; the new take is shown at once and fills in live. */
  async function submitTake(extra, what) {
    const model = currentModel();
    const randomSeed = () => Math.floor(Math.random() * 1000000);
    const { body, errors } = buildTakeRequest(readForm(), model, { ...extra, randomSeed });
    if (errors.length) { showError(errors.join(' ')); return; }
    const ref = extra.prompt || extra.infill;
    const source = ref ? state.takes.get(ref.take) : null;
    state.busy = `Asking for ${what}…`;
    refresh();
    try {
      const res = await api('/api/takes', {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
      });
      if (!res || res.id === undefined) throw new Error('the server did not return a take id');
      const take = putTake(placeholderTake(String(res.id), body, res.queuePosition || 0, model, source));
      if (!state.player) {
        showTake(take.id);
        // A continuation is watched from its last kept bar, so the roll follows the new ones.
        if (body.prompt) scrollToBar(body.prompt.bars - 1);
      }
      // The new entry is at the top of the list: bring it into view, wherever the list was scrolled.
      const entry = document.querySelector(`#takes li[data-take="${CSS.escape(take.id)}"]`);
      if (entry) entry.scrollIntoView({ block: 'nearest' });
      clearError();
    } catch (err) {
      showError(`Could not start ${what}: ${err.message}`);
    } finally {
      state.busy = null;
      refresh();
      syncStreams();
    }
  }

  function continueTake() {
    const take = shownTake();
    if (!take) return;
    const bars = continueBars(take, state.selection);
    submitTake({ prompt: { take: take.id, bars } }, `a continuation of ${take.name}`);
  }

  function regenerateBars() {
    const take = shownTake();
    const sel = state.selection;
    if (!take || !sel) return;
    submitTake({ infill: { take: take.id, first: sel.first + 1, last: sel.last + 1 } },
      `new ${barSpan(sel.first + 1, sel.last + 1)} of ${take.name}`);
  }

  /** Sends a .mid file as raw bytes; the answer holds a ready-to-show take. */
  async function uploadMidi(file) {
    if (!file) return;
    if (file.size > MAX_UPLOAD_BYTES) {
      showError(`"${file.name}" is ${(file.size / 1048576).toFixed(1)} MB; the server accepts MIDI files up to 2 MB.`);
      $('upload').value = '';
      return;
    }
    state.busy = `Uploading ${file.name}…`;
    refresh();
    try {
      const res = await api(`/api/prompts?name=${encodeURIComponent(file.name)}`, {
        method: 'POST', headers: { 'Content-Type': 'audio/midi' }, body: await file.arrayBuffer(),
      });
      if (!res || !res.take) throw new Error('the server did not return the uploaded take');
      const take = putTake(Object.assign({ name: res.name, source: 'upload' }, res.take));
      showTake(take.id);
      if (typeof res.note === 'string' && res.note) showError(res.note);
      else clearError();
    } catch (err) {
      showError(`Could not upload ${file.name}: ${err.message}`);
    } finally {
      state.busy = null;
      $('upload').value = ''; // lets the same file be chosen again
      refresh();
    }
  }

  // ----- Piano roll ------------------------------------------------------------

  const roll = {
    canvas: $('roll'), overlay: $('playhead'), scroller: $('roll-scroll'), spacer: $('roll-spacer'),
    w: 0, h: 0, dpr: 1,
  };
  roll.ctx = roll.canvas.getContext('2d');
  roll.octx = roll.overlay.getContext('2d');

  const contentLeft = () => GUTTER - roll.scroller.scrollLeft; // x of beat 0 on the canvas

  const box = (ctx, color, x, y, w, h) => { ctx.fillStyle = color; ctx.fillRect(x, y, w, h); };
  const text = (ctx, color, font, align, str, x, y) => {
    Object.assign(ctx, { fillStyle: color, font, textAlign: align });
    ctx.fillText(str, x, y);
  };

  // Sizes both canvases to their box at device resolution (crisp on high-DPI
  // screens) and the scrollbar's content to the piece. The canvas only ever
  // covers the visible part, so long pieces never hit canvas size limits.
  function layoutRoll() {
    const wrap = $('roll-wrap');
    roll.dpr = window.devicePixelRatio || 1;
    roll.w = wrap.clientWidth;
    roll.h = wrap.clientHeight;
    for (const c of [roll.canvas, roll.overlay]) {
      c.width = Math.round(roll.w * roll.dpr);
      c.height = Math.round(roll.h * roll.dpr);
    }
    const take = shownTake();
    const bars = take ? take.bars.length + (isUnfinished(take) ? 1 : 0) : 0;
    roll.spacer.style.width = `${Math.round(bars * state.pxPerBar + 60)}px`;
    drawRoll();
  }

  function drawRoll() {
    const { ctx, w, h, dpr } = roll;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    box(ctx, '#fbfaf6', 0, 0, w, h);
    const take = shownTake();
    if (!take || !take.bars.length) {
      const msg = !take ? 'Generate a take or upload a MIDI file.'
        : isUnfinished(take) ? `${take.name}: ${describeStatus(take)}` : `${take.name} has no notes.`;
      text(ctx, '#77736b', '14px system-ui, sans-serif', 'center', msg, w / 2, h / 2);
    } else {
      const [lo, hi] = pitchRange(take.notes);
      const rowH = (h - FOOT) / (hi - lo + 1);
      ctx.save();
      ctx.beginPath();
      ctx.rect(GUTTER, 0, w - GUTTER, h);
      ctx.clip();
      drawRows(ctx, lo, hi, rowH);
      drawGrid(ctx, take, h - FOOT);
      drawNotes(ctx, take, lo, hi, rowH);
      ctx.restore();
      drawKeys(ctx, lo, hi, rowH);
    }
    drawOverlay();
  }

  /** Black-key rows a shade darker and a line under every C: helps reading pitch. */
  function drawRows(ctx, lo, hi, rowH) {
    for (let p = lo; p <= hi; p++) {
      const y = (hi - p) * rowH;
      if (BLACK_KEYS.includes(p % 12)) box(ctx, '#f0ece2', GUTTER, y, roll.w, rowH);
      if (p % 12 === 0) box(ctx, '#e2ddd2', GUTTER, Math.round(y + rowH) - 1, roll.w, 1);
    }
  }

  /** Bar and beat lines, the selection, bar numbers, and the bar being written. */
  function drawGrid(ctx, take, gridH) {
    const ppb = state.pxPerBar;
    const left = contentLeft();
    const sel = state.selection;
    const first = Math.max(0, Math.floor(-left / ppb) - 1);
    const last = Math.min(take.bars.length - 1, Math.ceil((roll.w - left) / ppb));
    let every = 1; // label every bar, or every 2nd, 4th... when bars get narrow
    while (every * ppb < 28) every *= 2;
    const isSelected = (i) => Boolean(sel && i >= sel.first && i <= sel.last);
    // Bar i's number in the foot, at a bar (or label box) starting at x.
    const barNumber = (i, x) => text(ctx, isSelected(i) ? '#ffffff' : '#77736b', '11px system-ui, sans-serif',
      'left', String(i + 1), x + 4, gridH + 15);
    for (let i = first; i <= last; i++) {
      const x = left + i * ppb;
      const selected = isSelected(i);
      if (selected) {
        box(ctx, 'rgba(47, 111, 115, 0.13)', x, 0, ppb, gridH);
        box(ctx, 'rgba(47, 111, 115, 0.85)', x, gridH, ppb, FOOT);
      }
      const beats = take.bars[i].beats > 0 ? take.bars[i].beats : 4;
      if (ppb / beats >= 14) {
        for (let b = 1; b < beats; b++) box(ctx, '#ebe6db', Math.round(x + (b * ppb) / beats), 0, 1, gridH);
      }
      box(ctx, '#c9c2b3', Math.round(x), 0, 1, gridH + FOOT);
      if (i % every === 0 || selected) barNumber(i, x);
    }
    // The bar under the left edge keeps its number in view when its own label has scrolled
    // away (zoomed in, one bar is wider than the view), while the next label leaves room.
    const under = Math.floor((GUTTER - left) / ppb);
    if (under >= 0 && under < take.bars.length && left + under * ppb + 4 < GUTTER &&
      left + (under + 1) * ppb - GUTTER > 40) {
      box(ctx, isSelected(under) ? 'rgba(47, 111, 115, 0.85)' : '#fbfaf6', GUTTER + 1, gridH + 1, 30, FOOT - 1);
      barNumber(under, GUTTER);
    }
    box(ctx, '#e2ddd2', GUTTER, gridH, roll.w, 1);
    if (isUnfinished(take)) {
      const x = left + take.bars.length * ppb; // a faint slot where the next bar will appear
      box(ctx, 'rgba(208, 138, 44, 0.10)', x, 0, ppb, gridH);
      text(ctx, '#b07a2a', '11px system-ui, sans-serif', 'left', take.status === 'writing' ? 'writing…' : 'queued', x + 6, 16);
    }
  }

  function drawNotes(ctx, take, lo, hi, rowH) {
    const left = contentLeft();
    for (const n of take.notes) {
      if (n.pitch < lo || n.pitch > hi) continue;
      const x1 = left + beatToX(n.start, take.bars, state.pxPerBar);
      const x2 = left + beatToX(n.end, take.bars, state.pxPerBar);
      if (x2 < GUTTER || x1 > roll.w) continue;
      const color = PALETTE[(n.track || 0) % PALETTE.length];
      const y = (hi - n.pitch) * rowH;
      const width = Math.max(2, x2 - x1 - 1);
      box(ctx, shade(color, n.velocity === undefined ? 80 : n.velocity), x1, y + 0.5, width, Math.max(1, rowH - 1));
      if (rowH >= 5) {
        ctx.strokeStyle = color;
        ctx.lineWidth = 1;
        ctx.strokeRect(x1 + 0.5, y + 1, width - 1, rowH - 2);
      }
    }
  }

  /** The fixed keyboard strip on the left, with C labels. */
  function drawKeys(ctx, lo, hi, rowH) {
    box(ctx, '#fffdf8', 0, 0, GUTTER, roll.h);
    const font = `${Math.min(11, Math.max(9, rowH + 2))}px system-ui, sans-serif`;
    for (let p = lo; p <= hi; p++) {
      const y = (hi - p) * rowH;
      if (BLACK_KEYS.includes(p % 12)) box(ctx, '#4a4743', GUTTER - 14, y, 14, rowH);
      if (p % 12 !== 0) continue;
      text(ctx, '#2b2a28', font, 'left', pitchName(p), 4, y + rowH / 2 + 4);
      box(ctx, '#c9c2b3', 0, Math.round(y + rowH) - 1, GUTTER, 1);
    }
    box(ctx, '#e2ddd2', GUTTER - 1, 0, 1, roll.h);
  }

  /** The playhead lives on its own canvas so moving it never redraws the notes. */
  function drawOverlay() {
    const { octx: ctx, w, h, dpr } = roll;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const p = state.player;
    const take = shownTake();
    if (!p || !take || p.takeId !== take.id || p.beat === undefined) return;
    const x = contentLeft() + beatToX(p.beat, take.bars, state.pxPerBar);
    if (x >= GUTTER && x <= w) box(ctx, '#d65f5f', Math.round(x) - 1, 0, 2, h);
  }

  const lastBarVisible = (take) => contentLeft() + take.bars.length * state.pxPerBar <= roll.w + state.pxPerBar;

  function scrollToBar(i) {
    const x = (i + 1) * state.pxPerBar;
    const view = roll.w - GUTTER;
    if (x > roll.scroller.scrollLeft + view) roll.scroller.scrollLeft = x - view + state.pxPerBar;
  }

  /** Zooms keeping the music under the pointer (or the view's centre) in place. */
  function zoomAt(factor, clientX) {
    const rect = roll.canvas.getBoundingClientRect();
    const anchor = clientX === undefined ? GUTTER + (roll.w - GUTTER) / 2 : clientX - rect.left;
    const barsAtAnchor = (anchor - contentLeft()) / state.pxPerBar;
    state.pxPerBar = clamp(state.pxPerBar * factor, 16, 1200);
    layoutRoll();
    roll.scroller.scrollLeft = Math.max(0, barsAtAnchor * state.pxPerBar - (anchor - GUTTER));
    drawRoll();
  }

  function barUnderPointer(ev, clampToBars) {
    const take = shownTake();
    if (!take) return -1;
    const x = ev.clientX - roll.canvas.getBoundingClientRect().left;
    if (x < GUTTER && !clampToBars) return -1;
    return barAtX(x - contentLeft(), take.bars, state.pxPerBar, clampToBars);
  }

  function setSelection(sel) {
    state.selection = sel;
    if (!sel) state.anchor = null;
    drawRoll();
    refresh();
  }

  /** Arrows move the selected bar (with Shift, the end away from the anchor); Home and End go
   *  to the first and last bar; the bar moved to is scrolled into view. */
  function selectByKey(key, extend) {
    const take = shownTake();
    if (!take || !take.bars.length) return;
    const sel = state.selection;
    const moving = sel ? (sel.first === state.anchor ? sel.last : sel.first) : null;
    const last = take.bars.length - 1;
    let bar;
    if (key === 'Home') bar = 0;
    else if (key === 'End') bar = last;
    else if (moving === null) bar = 0;
    else bar = clamp(moving + (key === 'ArrowLeft' ? -1 : 1), 0, last);
    if (extend && state.anchor !== null) {
      setSelection(barRange(state.anchor, bar));
    } else {
      state.anchor = bar;
      setSelection({ first: bar, last: bar });
    }
    const left = bar * state.pxPerBar, view = roll.w - GUTTER;
    if (left < roll.scroller.scrollLeft) roll.scroller.scrollLeft = left;
    else if (left + state.pxPerBar > roll.scroller.scrollLeft + view) {
      roll.scroller.scrollLeft = left + state.pxPerBar - view;
    }
  }

  function onPointerDown(ev) {
    if (ev.button !== 0) return;
    roll.canvas.focus({ preventScroll: true });
    const bar = barUnderPointer(ev, false);
    if (bar < 0) return;
    const sel = state.selection;
    const soleSelected = !!sel && sel.first === bar && sel.last === bar;
    if (ev.shiftKey && state.anchor !== null) {
      setSelection(barRange(state.anchor, bar));
    } else if (!soleSelected) {
      state.anchor = bar;
      setSelection({ first: bar, last: bar });
    }
    // A plain click on the one selected bar clears it, unless it turns into a drag.
    state.drag = { from: bar, moved: false, clearOnUp: soleSelected && !ev.shiftKey };
    roll.canvas.setPointerCapture(ev.pointerId);
  }

  function onPointerMove(ev) {
    if (!state.drag) return;
    // Dragging past an edge of the roll scrolls it, so a range can reach bars out of view.
    const x = ev.clientX - roll.canvas.getBoundingClientRect().left;
    if (x > roll.w - 16) roll.scroller.scrollLeft += Math.min(60, x - (roll.w - 16));
    else if (x < GUTTER + 16) roll.scroller.scrollLeft -= Math.min(60, GUTTER + 16 - x);
    const bar = barUnderPointer(ev, true);
    if (bar < 0 || (bar === state.drag.from && !state.drag.moved)) return;
    state.drag.moved = true;
    if (state.anchor === null) state.anchor = state.drag.from;
    const next = barRange(state.anchor, bar);
    const sel = state.selection;
    if (!sel || sel.first !== next.first || sel.last !== next.last) setSelection(next);
  }

  function onPointerUp() {
    if (state.drag && state.drag.clearOnUp && !state.drag.moved) setSelection(null);
    state.drag = null;
  }

  function onWheel(ev) {
    if (ev.ctrlKey || ev.metaKey) {
      ev.preventDefault();
      zoomAt(ev.deltaY < 0 ? 1.15 : 1 / 1.15, ev.clientX);
    } else if (ev.shiftKey || Math.abs(ev.deltaX) > Math.abs(ev.deltaY)) {
      ev.preventDefault();
      roll.scroller.scrollLeft += ev.deltaX || ev.deltaY;
    }
  }

  // ----- Playback (Web Audio, synthesised) -------------------------------------

  const audio = { ctx: null, master: null, noise: null };

  /** One audio graph for the page: master gain into a compressor so chords don't clip. */
  function ensureAudio() {
    if (!audio.ctx) {
      const AC = window.AudioContext || window.webkitAudioContext;
      if (!AC) throw new Error('this browser has no Web Audio');
      const ctx = new AC();
      const comp = ctx.createDynamicsCompressor();
      const settings = { threshold: -16, knee: 10, ratio: 6, attack: 0.004, release: 0.25 };
      for (const [param, value] of Object.entries(settings)) comp[param].value = value;
      const master = ctx.createGain();
      master.gain.value = 0.55;
      master.connect(comp);
      comp.connect(ctx.destination);
      const noise = ctx.createBuffer(1, ctx.sampleRate, ctx.sampleRate); // 1 s of white noise for drums
      const data = noise.getChannelData(0);
      for (let i = 0; i < data.length; i++) data[i] = Math.random() * 2 - 1;
      Object.assign(audio, { ctx, master, noise });
    }
    if (audio.ctx.state === 'suspended') audio.ctx.resume();
    return audio.ctx;
  }

  function play() {
    const take = shownTake();
    if (!take || !take.notes.length) return;
    stopPlayback();
    let ctx;
    try { ctx = ensureAudio(); } catch (err) { showError(`Cannot play: ${err.message}`); return; }
    const tempo = makeTempoMap(take.tempos);
    const fromBar = state.selection ? state.selection.first : 0;
    const startBeat = take.bars[fromBar] ? take.bars[fromBar].start : 0;
    const startSec = tempo.toSeconds(startBeat);
    const events = take.notes.filter((n) => n.start >= startBeat - 1e-6 && n.end > n.start).map((n) => {
      const t = tempo.toSeconds(n.start);
      return { note: n, t: t - startSec, d: tempo.toSeconds(n.end) - t };
    }).sort((a, b) => a.t - b.t);
    const lastBar = take.bars[take.bars.length - 1];
    const pieceEnd = lastBar ? tempo.toSeconds(lastBar.start + lastBar.beats) - startSec : 0;
    const notesEnd = events.reduce((m, e) => Math.max(m, e.t + e.d), 0);
    const bus = ctx.createGain(); // per playback, so Stop can silence everything at once
    bus.connect(audio.master);
    state.player = {
      takeId: take.id, take, tempo, startSec, events, index: 0, bus, fromBar: fromBar + 1, beat: startBeat,
      t0: ctx.currentTime + 0.1, end: Math.max(pieceEnd, notesEnd) + 0.3, sources: new Set(),
    };
    state.player.timer = setInterval(scheduleAhead, 25);
    scheduleAhead();
    state.player.raf = requestAnimationFrame(animate);
    refresh();
  }

  // The look-ahead scheduler: only the next quarter second of notes is handed
  // to Web Audio, so long pieces cost nothing up front and Stop is instant.
  function scheduleAhead() {
    const p = state.player;
    if (!p) return;
    const now = audio.ctx.currentTime;
    const horizon = now + (document.hidden ? 1.5 : 0.25); // hidden tabs run timers only ~1/s
    while (p.index < p.events.length && p.t0 + p.events[p.index].t < horizon) {
      const { note, t, d } = p.events[p.index++];
      const when = Math.max(now, p.t0 + t);
      const track = p.take.tracks[note.track] || {};
      const vel = clamp(note.velocity === undefined ? 80 : note.velocity, 1, 127);
      const made = track.isDrum ? drumVoice(p.bus, note.pitch, when, vel)
        : instrumentVoice(p.bus, programFamily(track.program), midiToFreq(note.pitch), when, d, vel);
      for (const src of made) {
        p.sources.add(src);
        src.onended = () => p.sources.delete(src);
      }
    }
    if (now > p.t0 + p.end) stopPlayback();
  }

  function animate() {
    const p = state.player;
    if (!p) return;
    p.beat = p.tempo.toBeats(p.startSec + Math.max(0, audio.ctx.currentTime - p.t0));
    keepInView(p.beat);
    drawOverlay();
    p.raf = requestAnimationFrame(animate);
  }

  /** Page-turn scrolling: when the playhead nears the right edge, jump ahead. */
  function keepInView(beat) {
    const take = shownTake();
    if (!take || take.id !== state.player.takeId) return;
    const x = beatToX(beat, take.bars, state.pxPerBar);
    const view = roll.w - GUTTER;
    const left = roll.scroller.scrollLeft;
    if (x < left || x > left + view * 0.85) roll.scroller.scrollLeft = Math.max(0, x - view * 0.1);
  }

  function stopPlayback() {
    const p = state.player;
    if (!p) return;
    state.player = null;
    clearInterval(p.timer);
    cancelAnimationFrame(p.raf);
    const now = audio.ctx.currentTime;
    p.bus.gain.setTargetAtTime(0, now, 0.02);
    for (const src of p.sources) {
      try { src.stop(now + 0.1); } catch (err) { /* already stopped */ }
    }
    setTimeout(() => p.bus.disconnect(), 400);
    drawOverlay();
    refresh();
  }

  const togglePlay = () => (state.player ? stopPlayback() : play());
  /** Loudness of a note: a curve, so soft notes are really soft. */
  const level = (vel) => 0.04 + 0.26 * Math.pow(vel / 127, 1.6);

  // Piano: a few slightly stretched sine partials, each decaying on its own
  // (high ones faster, low notes longer); harder notes get stronger partials.
  function pianoVoice(out, freq, t, dur, vel) {
    const ctx = audio.ctx;
    const b = vel / 127;
    const attack = 0.003 + 0.004 * (1 - b);
    const tau = clamp(2.8 * Math.sqrt(220 / freq), 0.3, 6);
    const release = Math.max(t + dur, t + attack + 0.02);
    const stopAt = Math.min(release + 0.5, t + attack + tau * 5);
    const sum = ctx.createGain();
    sum.gain.value = level(vel) * 0.55;
    sum.connect(out);
    const sources = [];
    for (let k = 1; k <= 6 && freq * k < 12000; k++) {
      const g = ctx.createGain();
      g.gain.setValueAtTime(0, t);
      g.gain.linearRampToValueAtTime(Math.pow(k, -(2.4 - 1.5 * b)), t + attack);
      g.gain.setTargetAtTime(0, t + attack, tau / (1 + 0.6 * (k - 1)));
      g.gain.setTargetAtTime(0, release, 0.08); // the damper
      const osc = ctx.createOscillator();
      osc.frequency.value = freq * k * Math.sqrt(1 + 0.0004 * k * k); // piano strings' stretched partials
      osc.connect(g);
      g.connect(sum);
      osc.start(t);
      osc.stop(stopAt);
      sources.push(osc);
    }
    return sources;
  }

  // Per-family timbres: oscillators [type, frequency ratio, gain, detune cents],
  // envelope a/d/r in seconds, s = sustain as a share of the peak (0 = dies away
  // even when held), and a low-pass at cutoff × pitch that opens by env × pitch.
  const TIMBRES = [
    null, // 0 piano: pianoVoice
    { osc: [['sine', 1, 1], ['sine', 4, 0.3], ['sine', 9.8, 0.08]], a: 0.002, d: 0.45, s: 0, r: 0.3 },
    { osc: [['sine', 1, 0.8], ['sine', 2, 0.45], ['sine', 3, 0.25], ['sine', 4, 0.15]], a: 0.012, d: 0.1, s: 0.9, r: 0.06 },
    { osc: [['triangle', 1, 0.9], ['sawtooth', 1, 0.3]], a: 0.003, d: 0.8, s: 0, r: 0.12, cutoff: 5, env: 10, q: 1 },
    { osc: [['triangle', 1, 1], ['sawtooth', 1, 0.35]], a: 0.006, d: 0.35, s: 0.55, r: 0.08, cutoff: 4, env: 5, q: 2 },
    { osc: [['sawtooth', 1, 0.45, -7], ['sawtooth', 1, 0.45, 7]], a: 0.09, d: 0.3, s: 0.85, r: 0.25, cutoff: 4, env: 2, q: 0.7 },
    { osc: [['sawtooth', 1, 0.35, -10], ['sawtooth', 1, 0.35, 10], ['triangle', 2, 0.2]], a: 0.15, d: 0.4, s: 0.8, r: 0.4, cutoff: 3, env: 1 },
    { osc: [['sawtooth', 1, 0.8]], a: 0.04, d: 0.2, s: 0.75, r: 0.12, cutoff: 2, env: 6, q: 1.5 },
    { osc: [['square', 1, 0.5], ['sawtooth', 1, 0.2]], a: 0.03, d: 0.2, s: 0.8, r: 0.08, cutoff: 3, env: 2, q: 2 },
    { osc: [['sine', 1, 1], ['triangle', 2, 0.12]], a: 0.06, d: 0.2, s: 0.85, r: 0.12 },
    { osc: [['square', 1, 0.4, -4], ['sawtooth', 1, 0.4, 4]], a: 0.01, d: 0.2, s: 0.7, r: 0.1, cutoff: 6, env: 4, q: 3 },
    { osc: [['sawtooth', 1, 0.3, -12], ['sawtooth', 1, 0.3, 12], ['sine', 0.5, 0.3]], a: 0.4, d: 0.8, s: 0.8, r: 0.9, cutoff: 2.5, env: 1, q: 1 },
    { osc: [['triangle', 1, 0.6, -15], ['sine', 1.5, 0.3, 15]], a: 0.25, d: 0.6, s: 0.6, r: 1.0, cutoff: 4, env: 3, q: 4 },
    { osc: [['sawtooth', 1, 0.6], ['square', 2, 0.12]], a: 0.002, d: 0.6, s: 0, r: 0.15, cutoff: 8, env: 12, q: 4 },
    { osc: [['sine', 1, 1], ['sine', 2.7, 0.3]], a: 0.001, d: 0.18, s: 0, r: 0.08 },
    { osc: [['triangle', 1, 0.6], ['sawtooth', 1.01, 0.3]], a: 0.02, d: 0.3, s: 0.5, r: 0.3, cutoff: 3, env: 2 },
  ];

  function instrumentVoice(out, family, freq, t, dur, vel) {
    const tm = TIMBRES[family];
    if (!tm) return pianoVoice(out, freq, t, dur, vel);
    const ctx = audio.ctx;
    const b = vel / 127;
    const peak = level(vel) * 0.7;
    const release = Math.max(t + dur, t + tm.a + 0.01);
    const stopAt = tm.s === 0 ? Math.min(release + tm.r * 2, t + tm.a + tm.d * 6) : release + tm.r * 2;
    const env = ctx.createGain();
    env.gain.setValueAtTime(0, t);
    env.gain.linearRampToValueAtTime(peak, t + tm.a);
    env.gain.setTargetAtTime(peak * tm.s, t + tm.a, tm.d / 3 + 0.001);
    env.gain.setTargetAtTime(0, release, tm.r / 3 + 0.001);
    env.connect(out);
    let input = env;
    if (tm.cutoff) {
      // Louder notes open the filter further: louder = brighter.
      const base = Math.min(freq * tm.cutoff * (0.6 + 0.8 * b), 16000);
      const f = filter('lowpass', base, tm.q || 0.7, env);
      f.frequency.setValueAtTime(base, t);
      f.frequency.linearRampToValueAtTime(Math.min(base + freq * (tm.env || 0) * b, 18000), t + tm.a);
      f.frequency.setTargetAtTime(base, t + tm.a, tm.d / 2 + 0.01);
      input = f;
    }
    return tm.osc.map(([type, ratio, gain, detune]) => {
      const osc = ctx.createOscillator();
      osc.type = type;
      osc.frequency.value = freq * ratio;
      osc.detune.value = detune || 0;
      const g = ctx.createGain();
      g.gain.value = gain;
      osc.connect(g);
      g.connect(input);
      osc.start(t);
      osc.stop(stopAt);
      return osc;
    });
  }

  /** A quick attack then an exponential fall: the shape shared by every drum sound. */
  function decayGain(out, t, peak, decay) {
    const g = audio.ctx.createGain();
    g.gain.setValueAtTime(0.0001, t);
    g.gain.exponentialRampToValueAtTime(peak, t + 0.002);
    g.gain.exponentialRampToValueAtTime(0.0001, t + decay);
    g.connect(out);
    return g;
  }

  function filter(type, freq, q, into) {
    const f = Object.assign(audio.ctx.createBiquadFilter(), { type });
    f.frequency.value = freq;
    f.Q.value = q;
    f.connect(into);
    return f;
  }

  function noiseBurst(t, dur, into) {
    const src = audio.ctx.createBufferSource();
    src.buffer = audio.noise;
    src.loop = true;
    src.connect(into);
    src.start(t, Math.random() * 0.5); // a random offset so repeated hits differ
    src.stop(t + dur);
    return src;
  }

  function thump(out, t, from, to, drop, decay, peak) {
    const osc = audio.ctx.createOscillator();
    osc.frequency.setValueAtTime(from, t);
    osc.frequency.exponentialRampToValueAtTime(to, t + drop);
    osc.connect(decayGain(out, t, peak, decay));
    osc.start(t);
    osc.stop(t + decay + 0.02);
    return osc;
  }

  /** Drums by General MIDI key: sine thumps for kick and toms, shaped noise for the rest. */
  function drumVoice(out, pitch, t, vel) {
    const peak = level(vel) * 1.6;
    const kind = drumKind(pitch);
    if (kind === 'kick') return [thump(out, t, 150, 42, 0.12, 0.4, peak * 1.4)];
    if (kind === 'snare') {
      return [thump(out, t, 220, 170, 0.05, 0.12, peak * 0.5),
        noiseBurst(t, 0.2, filter('bandpass', 1900, 0.7, decayGain(out, t, peak, 0.18)))];
    }
    if (kind === 'hihat') {
      const decay = pitch === 46 ? 0.35 : 0.06; // 46 is the open hi-hat
      return [noiseBurst(t, decay + 0.02, filter('highpass', 7000, 0.7, decayGain(out, t, peak * 0.6, decay)))];
    }
    if (kind === 'cymbal') {
      const decay = pitch === 51 || pitch === 59 ? 0.7 : 1.3; // rides are shorter than crashes
      return [noiseBurst(t, decay + 0.02, filter('highpass', 5000, 0.5, decayGain(out, t, peak * 0.45, decay)))];
    }
    if (kind === 'tom') {
      const f = 75 + (pitch - 41) * 16; // 41 low floor tom ... 50 high tom
      return [thump(out, t, f * 1.4, f, 0.08, 0.35, peak)];
    }
    const f = clamp(midiToFreq(pitch + 12), 200, 3000); // bongos, cowbells...: a short pitched tick
    return [thump(out, t, f, f * 0.9, 0.05, 0.12, peak * 0.6)];
  }

  // ----- Wiring --------------------------------------------------------------

  function isTextField(node) {
    if (!node || !node.tagName) return false;
    const tag = node.tagName.toLowerCase();
    return tag === 'textarea' || tag === 'select' || node.isContentEditable ||
      (tag === 'input' && !['button', 'checkbox', 'radio', 'submit', 'reset'].includes(node.type));
  }

  function onKeyDown(ev) {
    if (ev.key === ' ' && !isTextField(ev.target) && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
      ev.preventDefault(); // also keeps a focused button from being pressed by the same Space
      if (!ev.repeat) togglePlay();
    } else if (ev.key === 'Escape' && state.selection) {
      setSelection(null);
    } else if (ev.target === roll.canvas && ['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(ev.key) &&
      !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
      ev.preventDefault();
      selectByKey(ev.key, ev.shiftKey);
    } else if (ev.key === 'Enter' && ev.target.dataset && ev.target.dataset.take) {
      showTake(ev.target.dataset.take);
    }
  }

  function wire() {
    fillKeys();
    const on = (id, type, fn) => $(id).addEventListener(type, fn);
    on('settings', 'submit', (ev) => { ev.preventDefault(); submitTake({}, 'a new take'); });
    on('model', 'change', onModelChange);
    on('seed-random', 'click', () => { $('seed').value = String(Math.floor(Math.random() * 1000000)); });
    on('upload', 'change', (ev) => uploadMidi(ev.target.files[0]));
    on('continue', 'click', continueTake);
    on('regenerate', 'click', regenerateBars);
    on('play', 'click', play);
    on('stop', 'click', stopPlayback);
    on('zoom-in', 'click', () => zoomAt(1.4));
    on('zoom-out', 'click', () => zoomAt(1 / 1.4));
    on('error-dismiss', 'click', clearError);
    on('takes', 'click', (ev) => {
      if (ev.target.closest('a')) return; // download links do their own thing
      const li = ev.target.closest('li[data-take]');
      if (li) showTake(li.dataset.take);
    });
    document.addEventListener('keydown', onKeyDown);
    // Browsers press a focused button on Space key-up; Space belongs to play/stop here.
    document.addEventListener('keyup', (ev) => { if (ev.key === ' ' && !isTextField(ev.target)) ev.preventDefault(); });
    on('roll', 'pointerdown', onPointerDown);
    on('roll', 'pointermove', onPointerMove);
    on('roll', 'pointerup', onPointerUp);
    on('roll', 'pointercancel', onPointerUp);
    roll.canvas.addEventListener('wheel', onWheel, { passive: false });
    roll.scroller.addEventListener('scroll', drawRoll);
    if (window.ResizeObserver) new ResizeObserver(layoutRoll).observe($('roll-wrap'));
    window.addEventListener('resize', layoutRoll); // also catches devicePixelRatio changes
    window.studio = {
      shownTake: () => state.shownId,
      selectedBars: () => {
        const s = state.selection;
        return s ? Array.from({ length: s.last - s.first + 1 }, (_, i) => s.first + i + 1) : [];
      },
      noteCount: () => (shownTake() ? shownTake().notes.length : 0),
      takeStatuses: () => Object.fromEntries([...state.takes.values()].map((t) => [t.id, t.status])),
    };
    layoutRoll();
    refresh();
    loadModels();
    loadTakes(true);
  }

  wire();
}
