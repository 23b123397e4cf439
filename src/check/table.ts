/**
 * The stateful search's table of explored states: 64-bit fingerprints (two 32-bit halves) in
 * typed arrays with open addressing, each mapped to a state number, and per state a few int32
 * fields of the search's (its sleep set, whether it is on the stack, its summary). A state costs
 * 12 bytes of keys and index at a load of at most 1/2, and 4 bytes a field; no object or string
 * is made per state.
 */
export class StateTable {
  private hi = new Int32Array(1 << 14);
  private lo = new Int32Array(1 << 14);
  /** State number + 1; 0: a free slot. */
  private at = new Int32Array(1 << 14);
  private data: Int32Array;
  private n = 0;

  constructor(private readonly fields: number) {
    this.data = new Int32Array(fields << 13);
  }

  get size(): number {
    return this.n;
  }

  /** Bytes of the table's arrays. */
  get bytes(): number {
    return 4 * (3 * this.at.length + this.data.length);
  }

  private slot(hi: number, lo: number, mask: number): number {
    let h = Math.imul(hi ^ (lo >>> 7), 0x9e3779b1) ^ lo;
    h ^= h >>> 16;
    return h & mask;
  }

  /** The state with this fingerprint, or -1. */
  get(hi: number, lo: number): number {
    const mask = this.at.length - 1;
    for (let i = this.slot(hi | 0, lo | 0, mask); ; i = (i + 1) & mask) {
      const a = this.at[i]!;
      if (a === 0) return -1;
      if (this.hi[i] === (hi | 0) && this.lo[i] === (lo | 0)) return a - 1;
    }
  }

  /** Add a fingerprint that is not in the table yet; returns its state number (fields 0). */
  add(hi: number, lo: number): number {
    if (2 * (this.n + 1) > this.at.length) this.grow();
    const s = this.n++;
    if (this.n * this.fields > this.data.length) {
      const d = new Int32Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data.fill(0, s * this.fields, this.n * this.fields);
    this.place(hi | 0, lo | 0, this.n);
    return s;
  }

  field(s: number, f: number): number {
    return this.data[s * this.fields + f]!;
  }

  setField(s: number, f: number, v: number): void {
    this.data[s * this.fields + f] = v;
  }

  private place(hi: number, lo: number, a: number): void {
    const mask = this.at.length - 1;
    let i = this.slot(hi, lo, mask);
    while (this.at[i] !== 0) i = (i + 1) & mask;
    this.hi[i] = hi;
    this.lo[i] = lo;
    this.at[i] = a;
  }

  private grow(): void {
    const [hi, lo, at] = [this.hi, this.lo, this.at];
    const n = at.length * 2;
    this.hi = new Int32Array(n);
    this.lo = new Int32Array(n);
    this.at = new Int32Array(n);
    for (let i = 0; i < at.length; i++) if (at[i] !== 0) this.place(hi[i]!, lo[i]!, at[i]!);
  }

  clear(): void {
    this.hi = new Int32Array(1 << 14);
    this.lo = new Int32Array(1 << 14);
    this.at = new Int32Array(1 << 14);
    this.data = new Int32Array(this.fields << 13);
    this.n = 0;
  }
}
