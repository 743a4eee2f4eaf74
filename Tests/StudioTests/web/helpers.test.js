// Unit tests of studio.js's pure helpers. Run: node --test tests/  (Node 20, no packages)
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const S = require('../../../Sources/Studio/Resources/studio.js');

const near = (a, b, eps = 1e-9) => assert.ok(Math.abs(a - b) < eps, `${a} !~ ${b}`);
const bars44 = (n) => S.extendBars([], n);

test('beats to seconds: default 120 bpm, constant and changing tempos', () => {
  near(S.beatsToSeconds(4, []), 2);
  near(S.beatsToSeconds(4, undefined), 2);
  near(S.beatsToSeconds(3, [{ beat: 0, bpm: 60 }]), 3);
  const tempos = [{ beat: 0, bpm: 120 }, { beat: 8, bpm: 60 }];
  near(S.beatsToSeconds(8, tempos), 4);
  near(S.beatsToSeconds(10, tempos), 6);
  // unsorted input, and no entry at beat 0 (120 bpm until the first one)
  near(S.beatsToSeconds(6, [{ beat: 4, bpm: 60 }]), 2 + 2);
  near(S.beatsToSeconds(6, [{ beat: 4, bpm: 60 }, { beat: 0, bpm: 240 }]), 1 + 2);
  // broken entries are ignored
  near(S.beatsToSeconds(4, [{ beat: 0, bpm: 0 }, { beat: -1, bpm: 30 }, null]), 2);
  // two entries at the same beat: the later one wins
  near(S.beatsToSeconds(2, [{ beat: 0, bpm: 120 }, { beat: 0, bpm: 60 }]), 2);
});

test('seconds to beats inverts beats to seconds', () => {
  const tempos = [{ beat: 0, bpm: 100 }, { beat: 5, bpm: 150 }, { beat: 9.5, bpm: 72 }];
  for (const beat of [0, 0.25, 4.99, 5, 7.3, 9.5, 20]) {
    near(S.secondsToBeats(S.beatsToSeconds(beat, tempos), tempos), beat, 1e-9);
  }
  const map = S.makeTempoMap(tempos);
  near(map.toSeconds(5), 3);
  near(map.toBeats(3 + 0.4), 6);
});

test('bar geometry: beat to x with equal-width bars, bar hit-testing', () => {
  const bars = [{ start: 0, beats: 4 }, { start: 4, beats: 3 }, { start: 7, beats: 4 }];
  assert.equal(S.barIndexAtBeat(-1, bars), -1);
  assert.equal(S.barIndexAtBeat(0, bars), 0);
  assert.equal(S.barIndexAtBeat(3.99, bars), 0);
  assert.equal(S.barIndexAtBeat(4, bars), 1);
  assert.equal(S.barIndexAtBeat(6.9, bars), 1);
  assert.equal(S.barIndexAtBeat(100, bars), 2);
  near(S.beatToX(2, bars, 100), 50);
  near(S.beatToX(5.5, bars, 120), 120 + 60); // half of a 3/4 bar
  near(S.beatToX(11, bars, 100), 300); // end of the last bar
  near(S.beatToX(13, bars, 100), 350); // past the end: last bar's scale carries on
  assert.equal(S.barAtX(0, bars, 100), 0);
  assert.equal(S.barAtX(99.9, bars, 100), 0);
  assert.equal(S.barAtX(100, bars, 100), 1);
  assert.equal(S.barAtX(299, bars, 100), 2);
  assert.equal(S.barAtX(300, bars, 100), -1);
  assert.equal(S.barAtX(-5, bars, 100), -1);
  assert.equal(S.barAtX(-5, bars, 100, true), 0);
  assert.equal(S.barAtX(1e6, bars, 100, true), 2);
  assert.equal(S.barAtX(10, [], 100), -1);
  assert.deepEqual(S.barRange(5, 2), { first: 2, last: 5 });
});

test('continue keeps bars up to the selection end, else the whole take', () => {
  const take = { bars: bars44(8) };
  assert.equal(S.continueBars(take, null), 8);
  assert.equal(S.continueBars(take, { first: 1, last: 3 }), 4);
});

test('keys: 24, with sharps, as the server spells them', () => {
  const keys = S.keyNames();
  assert.equal(keys.length, 24);
  assert.equal(new Set(keys).size, 24);
  assert.equal(keys[0], 'C major');
  assert.ok(keys.includes('C# major') && keys.includes('A minor') && keys.includes('A# minor'));
  assert.ok(!keys.some((k) => k.includes('b ')));
});

test('General MIDI program families and drum kinds', () => {
  assert.equal(S.programFamily(0), 0);
  assert.equal(S.programFamily(7), 0);
  assert.equal(S.programFamily(8), 1);
  assert.equal(S.programFamily(33), 4); // electric bass (finger)
  assert.equal(S.programFamily(40), 5); // violin
  assert.equal(S.programFamily(56), 7); // trumpet
  assert.equal(S.programFamily(73), 9); // flute
  assert.equal(S.programFamily(127), 15);
  for (const bad of [-1, 128, 3.5, undefined, null, 'x']) assert.equal(S.programFamily(bad), 0);
  assert.equal(S.FAMILY_NAMES.length, 16);
  assert.equal(S.FAMILY_NAMES[S.programFamily(48)], 'ensemble');
  const kinds = { 35: 'kick', 36: 'kick', 37: 'snare', 38: 'snare', 40: 'snare', 42: 'hihat', 44: 'hihat',
    46: 'hihat', 49: 'cymbal', 51: 'cymbal', 57: 'cymbal', 59: 'cymbal', 41: 'tom', 43: 'tom', 45: 'tom',
    47: 'tom', 48: 'tom', 50: 'tom', 60: 'other', 34: 'other' };
  for (const [pitch, kind] of Object.entries(kinds)) assert.equal(S.drumKind(Number(pitch)), kind, pitch);
});

test('pitch names and ranges', () => {
  assert.equal(S.pitchName(60), 'C4');
  assert.equal(S.pitchName(36), 'C2');
  assert.equal(S.pitchName(61), 'C#4');
  assert.equal(S.pitchName(0), 'C-1');
  near(S.midiToFreq(69), 440);
  assert.deepEqual(S.pitchRange([]), [48, 84]);
  const [lo, hi] = S.pitchRange([{ pitch: 60 }, { pitch: 64 }]);
  assert.ok(hi - lo >= 24 && lo <= 58 && hi >= 66);
  assert.deepEqual(S.pitchRange([{ pitch: 0 }]), [0, 24]);
  assert.deepEqual(S.pitchRange([{ pitch: 127 }]), [103, 127]);
  assert.deepEqual(S.pitchRange([{ pitch: 20 }, { pitch: 100 }]), [18, 102]);
});

test('velocity shading: loud = the colour, soft = paler', () => {
  assert.equal(S.shade('#4e79a7', 127), 'rgb(78, 121, 167)');
  const soft = S.shade('#4e79a7', 20).match(/\d+/g).map(Number);
  assert.ok(soft[0] > 78 && soft[1] > 121 && soft[2] > 167 && soft.every((c) => c <= 255));
});

test('normalizeTake fills gaps and derives 4/4 bars when missing', () => {
  const t = S.normalizeTake({ id: 7, notes: [{ pitch: 60, start: 0, end: 9, velocity: 80, track: 0 }, { bad: 1 }] });
  assert.equal(t.id, '7');
  assert.equal(t.name, '7');
  assert.equal(t.status, 'done');
  assert.equal(t.notes.length, 1);
  assert.equal(t.bars.length, 3);
  assert.deepEqual(t.bars[2], { start: 8, beats: 4 });
  assert.deepEqual(S.normalizeTake({ id: 'x' }).bars, []);
});

test('bar events grow the take and replace notes in their bar (idempotent replays)', () => {
  const take = S.normalizeTake({ id: 't1', status: 'queued', bars: [], notes: [] });
  const note = (start, pitch = 60) => ({ track: 0, pitch, velocity: 80, start, end: start + 1 });
  assert.ok(S.applyBarEvent(take, { bar: 1, notes: [note(0), note(2)] }));
  assert.equal(take.status, 'writing');
  assert.ok(S.applyBarEvent(take, { bar: 2, notes: [note(4)] }));
  assert.ok(S.applyBarEvent(take, { bar: 2, notes: [note(4)] })); // replayed after a reconnect
  assert.equal(take.notes.length, 3);
  assert.equal(take.bars.length, 2);
  assert.equal(take.barsDone, 2);
  // a bar with its own metre
  S.applyBarEvent(take, { bar: 3, start: 8, beats: 3, notes: [] });
  assert.deepEqual(take.bars[2], { start: 8, beats: 3 });
  // infill: replacing bar 1's notes leaves bar 2 alone
  S.applyBarEvent(take, { bar: 1, notes: [note(1, 72)] });
  assert.deepEqual(take.notes.map((n) => n.start).sort(), [1, 4]);
  assert.equal(S.applyBarEvent(take, { bar: 0 }), false);
  assert.equal(S.applyBarEvent(take, { bar: 'x' }), false);
});

const pretrained = { name: 'pretrained', controls: { infill: true, chords: true, styles: ['bach', 'chopin'], key: true, density: true, tempo: true } };
const pop = { name: 'pop', controls: { infill: false, chords: true, styles: [], key: false, density: false, tempo: true } };
const form = (over = {}) => Object.assign({ model: 'pretrained', bars: '8', seed: '42', temperature: '1.2', topP: '0.9',
  chords: '', harmonyGuidance: '4', style: 'any', key: 'any', density: 'any', tempo: '' }, over);

test('take request: defaults, omitted "any" choices, random seed when empty', () => {
  const { body, errors } = S.buildTakeRequest(form(), pretrained);
  assert.deepEqual(errors, []);
  assert.deepEqual(body, { model: 'pretrained', bars: 8, seed: 42, temperature: 1.2, topP: 0.9 });
  const r = S.buildTakeRequest(form({ seed: '' }), pretrained, { randomSeed: () => 777 });
  assert.equal(r.body.seed, 777);
});

test('take request: controls only when the model has them', () => {
  const all = form({ chords: ' C:maj   G:maj ', style: 'chopin', key: 'A minor', density: 'dense', tempo: '100' });
  const a = S.buildTakeRequest(all, pretrained).body;
  assert.equal(a.chords, 'C:maj G:maj');
  assert.equal(a.harmonyGuidance, 4);
  assert.equal(a.style, 'chopin');
  assert.equal(a.key, 'A minor');
  assert.equal(a.density, 'dense');
  assert.equal(a.tempo, 100);
  const b = S.buildTakeRequest(Object.assign(all, { model: 'pop' }), pop).body;
  assert.deepEqual(Object.keys(b).sort(), ['bars', 'chords', 'harmonyGuidance', 'model', 'seed', 'temperature', 'tempo', 'topP']);
  // harmony guidance only travels with chords
  assert.equal(S.buildTakeRequest(form({ harmonyGuidance: '6' }), pretrained).body.harmonyGuidance, undefined);
});

test('take request: validation messages', () => {
  const bad = S.buildTakeRequest(form({ bars: '65', seed: '-1', temperature: '0', topP: '1.5', tempo: '10' }), pretrained);
  assert.equal(bad.errors.length, 5);
  assert.equal(S.buildTakeRequest(form({ bars: '2.5' }), pretrained).errors.length, 1);
  assert.equal(S.buildTakeRequest(form({ model: '' }), null).errors.length, 1);
});

test('take request: prompt and infill', () => {
  const p = S.buildTakeRequest(form(), pretrained, { prompt: { take: 't3', bars: 4 } }).body;
  assert.deepEqual(p.prompt, { take: 't3', bars: 4 });
  assert.equal(p.bars, 8);
  const i = S.buildTakeRequest(form({ bars: 'nonsense', tempo: '90' }), pretrained, { infill: { take: 't3', first: 3, last: 4 } });
  assert.deepEqual(i.errors, []); // bars is not sent for an infill, nor the tempo (the take's own is kept)
  assert.equal(i.body.bars, undefined);
  assert.equal(i.body.tempo, undefined);
  assert.deepEqual(i.body.infill, { take: 't3', first: 3, last: 4 });
});

test('placeholder takes: prompt bars kept, infilled bars emptied, model parts as tracks', () => {
  const source = S.normalizeTake({ id: 't3', bars: bars44(4), tracks: [{ name: 'Piano', program: 0 }],
    tempos: [{ beat: 0, bpm: 90 }], notes: [0, 4, 8, 12].map((start) => ({ track: 0, pitch: 60, velocity: 80, start, end: start + 1 })) });
  const cont = S.placeholderTake('t4', { prompt: { take: 't3', bars: 2 }, bars: 8 }, 1, pretrained, source);
  assert.equal(cont.bars.length, 2);
  assert.deepEqual(cont.notes.map((n) => n.start), [0, 4]);
  assert.equal(cont.status, 'queued');
  assert.equal(S.describeStatus(cont), 'queued (position 1)');
  assert.equal(S.expectedBars(cont), 10);
  const inf = S.placeholderTake('t5', { infill: { take: 't3', first: 2, last: 3 } }, 0, pretrained, source);
  assert.equal(inf.bars.length, 4);
  assert.deepEqual(inf.notes.map((n) => n.start), [0, 12]);
  assert.equal(S.describeStatus(inf), 'starting…');
  const fresh = S.placeholderTake('t6', { bars: 8 }, 0, { parts: ['MELODY', 'PIANO'] }, null);
  assert.deepEqual(fresh.tracks.map((t) => t.name), ['MELODY', 'PIANO']);
  source.notes[0].pitch = 1; // copies, not shared objects
  assert.equal(cont.notes[0].pitch, 60);
});

test('status and settings descriptions', () => {
  const t = S.normalizeTake({ id: 't4', status: 'writing', settings: { model: 'pop', bars: 8, seed: 1, temperature: 1.2, topP: 0.9,
    chords: 'C:maj G:maj', harmonyGuidance: 4, tempo: 100, prompt: { take: 'u1', bars: 4 } } });
  assert.equal(S.describeStatus(t), 'writing…');
  t.barsDone = 5;
  assert.equal(S.describeStatus(t), 'writing bar 5 of 12');
  const lines = S.describeSettings(t, (id) => (id === 'u1' ? 'song.mid' : id));
  assert.equal(lines[0], 'pop · 8 bars · seed 1 · temp 1.2 · top-p 0.9');
  assert.equal(lines[1], 'chords C:maj G:maj (×4) · 100 bpm');
  assert.equal(lines[2], 'continues song.mid (bars 1–4)');
  assert.equal(S.describeStatus({ status: 'failed', error: 'out of memory' }), 'failed: out of memory');
  assert.equal(S.describeStatus({ status: 'done', seconds: 75.4 }), 'done · 1:15');
  assert.equal(S.describeStatus({ status: 'done', seconds: 75.4, tempos: [{ beat: 0, bpm: 114.0001 }] }), 'done · 1:15 · 114 bpm');
  assert.equal(S.describeTempo({ tempos: [{ beat: 0, bpm: 90 }, { beat: 8, bpm: 117 }, { beat: 9, bpm: 100 }] }), '90–117 bpm');
  assert.equal(S.describeTempo({ tempos: [] }), '');
  assert.equal(S.barSpan(3, 3), 'bar 3');
  assert.equal(S.barSpan(3, 4), 'bars 3–4');
  assert.equal(S.formatTime(16), '0:16');
  const up = S.normalizeTake({ id: 'u1', source: 'upload', bars: bars44(32), notes: [] });
  assert.match(S.describeSettings(up)[0], /uploaded MIDI · 32 bars/);
});
