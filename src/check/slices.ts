/**
 * Exploration in time slices. The explorers are generators that yield between executions once a
 * slice (DfsOptions.sliceMs) has run out; drain() runs one to the end synchronously (tests, the
 * library API), drainAsync() returns to the event loop at every yield, so the CLI's SIGINT and
 * SIGTERM handlers and timers run during a long search (a synchronous loop never lets them).
 */
export type Sliced<T> = Generator<void, T, void>;

/** Run to the end without ever leaving the current task. */
export function drain<T>(g: Sliced<T>): T {
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
  }
}

/** Run to the end, letting the event loop run (signals, timers, I/O) at every yield. */
export async function drainAsync<T>(g: Sliced<T>): Promise<T> {
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** The explorers' yield check: true when the slice is over (and starts the next one). */
export class SliceClock {
  private end: number;
  constructor(private readonly ms: number | undefined) {
    this.end = ms === undefined ? Infinity : Date.now() + ms;
  }
  over(): boolean {
    if (this.ms === undefined) return false;
    const now = Date.now();
    if (now < this.end) return false;
    this.end = now + this.ms;
    return true;
  }
}
