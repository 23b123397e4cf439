/**
 * The stateful search's table of explored states: 64-bit fingerprints (two 32-bit halves) in
 * typed arrays with open addressing, each mapped to its entry. A fingerprint costs 12 bytes of
 * keys and index at a load of at most 1/2, besides its entry; no string is built per state.
 */
export class StateTable<V> {
  private hi = new Int32Array(1 << 14);
  private lo = new Int32Array(1 << 14);
  /** Index + 1 into `values`; 0: a free slot. */
  private at = new Int32Array(1 << 14);
  private readonly values: V[] = [];

  get size(): number {
    return this.values.length;
  }

  private slot(hi: number, lo: number, mask: number): number {
    let h = Math.imul(hi ^ (lo >>> 7), 0x9e3779b1) ^ lo;
    h ^= h >>> 16;
    return h & mask;
  }

  get(hi: number, lo: number): V | undefined {
    const mask = this.at.length - 1;
    for (let i = this.slot(hi | 0, lo | 0, mask); ; i = (i + 1) & mask) {
      const a = this.at[i]!;
      if (a === 0) return undefined;
      if (this.hi[i] === (hi | 0) && this.lo[i] === (lo | 0)) return this.values[a - 1];
    }
  }

  /** Add a fingerprint that is not in the table yet. */
  add(hi: number, lo: number, v: V): void {
    if (2 * (this.values.length + 1) > this.at.length) this.grow();
    this.values.push(v);
    this.place(hi | 0, lo | 0, this.values.length);
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
    this.values.length = 0;
  }
}
