/**
 * byValue() objects in the incremental fingerprint (sim/frames.ts): taken by their contents
 * wherever they are held, so two histories that end with equal contents give one fingerprint
 * (gupcheck's PTE watchers, kernel/gup.ts watch()), and a write to one changes the fingerprint of
 * the list that holds it. Runs on the native runtime, with the write barrier called directly as
 * the compiled model calls it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { byValue, fingerprint, fingerprintIncremental, Frame, hashSums, m_push, m_splice, mark, set, setHashSums, staleTerms, startRecording, stopRecording, undo } from '../../src/sim/frames.ts';

interface Watcher {
  cellId: number;
  pfn: number;
  seen: boolean;
}

const key = (root: object) => {
  const f = fingerprintIncremental(root, []);
  return `${f.hi}.${f.lo}`;
};

/** Run `history` from the state at `m`, then put that state back; the fingerprint it ended with. */
function from(root: object, m: number, sums: readonly [number, number], history: () => void): { key: string; dump: string } {
  history();
  const out = { key: key(root), dump: fingerprint(root, true).text };
  undo(m);
  setHashSums(sums);
  return out;
}

describe('byValue() objects in the incremental fingerprint', () => {
  beforeEach(() => startRecording());
  afterEach(() => stopRecording());

  for (const by of ['byValue', 'plain'] as const) {
    it(`a watcher made, dropped and made again matches one made once: ${by === 'byValue' ? 'yes, by value' : 'not for plain objects (the ids differ)'}`, () => {
      const make = (seen: boolean): Watcher => (by === 'byValue' ? byValue({ cellId: 7, pfn: 3, seen }) : { cellId: 7, pfn: 3, seen });
      const root = { list: [] as Watcher[], page: { refs: 1 } };
      key(root);
      const m = mark();
      const sums = hashSums();
      const twice = from(root, m, sums, () => {
        m_push(root.list, make(true));
        key(root); // a state between: the first watcher is in the fingerprint
        m_splice(root.list, 0, 1);
        key(root);
        m_push(root.list, make(false));
      });
      const once = from(root, m, sums, () => m_push(root.list, make(false)));
      expect(twice.dump).toBe(once.dump); // the same state
      if (by === 'byValue') expect(twice.key).toBe(once.key);
      else expect(twice.key).not.toBe(once.key);
    });
  }

  it("a write to one changes its list's fingerprint, and undoing it puts the fingerprint back", () => {
    const root = { list: [] as Watcher[] };
    const w = byValue<Watcher>({ cellId: 7, pfn: 3, seen: false });
    m_push(root.list, w);
    const before = key(root);
    const m = mark();
    const sums = hashSums();
    set(w, 'seen', true);
    const after = key(root);
    expect(after).not.toBe(before);
    expect(staleTerms(root)).toEqual([]);
    undo(m);
    setHashSums(sums);
    expect(key(root)).toBe(before);
    expect(staleTerms(root)).toEqual([]);
  });

  it("a write by another thread changes the hash of a thread whose local holds it, though that thread did not run", () => {
    // Two CPUs' watchers of one (cell, pfn), the list holding them in the other order: only the
    // locals say whose is whose. A stack hash that kept an old `seen` would match the two states.
    const a = byValue<Watcher>({ cellId: 7, pfn: 3, seen: false });
    const b = byValue<Watcher>({ cellId: 7, pfn: 3, seen: false });
    const root = { list: [a, b] as Watcher[] };
    const frame = new Frame(() => undefined, { n: 1, v: undefined, _child: undefined, _ret: undefined, $w: a }, 990_001);
    const threads = [{ gen: frame, id: 0 }];
    const keyNow = () => {
      const f = fingerprintIncremental(root, threads);
      return `${f.hi}.${f.lo}`;
    };
    keyNow();
    set(b, 'seen', true); // the list is [false, true], and CPU0's watcher is the false one
    const mine = keyNow();
    set(b, 'seen', false);
    set(a, 'seen', true); // the list is [true, false], and CPU0's watcher is the true one
    m_splice(root.list, 0, 2, b, a); // [false, true] again: the list alone cannot tell them apart
    expect(keyNow()).not.toBe(mine);
  });

  it('a dropped one leaves no term: the state before it was made', () => {
    const root = { list: [] as Watcher[] };
    const empty = key(root);
    m_push(root.list, byValue<Watcher>({ cellId: 7, pfn: 3, seen: false }));
    expect(key(root)).not.toBe(empty);
    m_splice(root.list, 0, 1);
    expect(key(root)).toBe(empty);
  });
});
