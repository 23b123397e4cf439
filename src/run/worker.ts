/**
 * One exploration worker (src/run/pool.ts): runs the planned runs it is sent, one at a time,
 * with the same runOne() as the single-threaded path, and reports progress every 250 ms.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ParsedScenario } from '../scenarios/parse.ts';
import { loadScenario } from './load.ts';
import { type FromWorker, serializeError, type ToWorker } from './pool.ts';
import { runOne } from './run.ts';

const port = parentPort!;
const stopFlag = (workerData as { stopFlag: Int32Array }).stopFlag;
const parsed = new Map<string, ParsedScenario>();
const send = (m: FromWorker) => port.postMessage(m);

port.on('message', (m: ToWorker) => {
  const t0 = Date.now();
  let last = t0;
  try {
    let p = parsed.get(m.file);
    if (!p) parsed.set(m.file, (p = loadScenario(m.file)));
    const result = runOne(p, m.run, {
      ...m.opts,
      shouldStop: () => (Atomics.load(stopFlag, 0) ? 'interrupted' : undefined),
      onExecution: (r) => {
        const now = Date.now();
        if (now - last < 250) return;
        last = now;
        send({ type: 'progress', index: m.index, executions: r.executions, ms: now - t0 });
      },
    });
    send({ type: 'done', index: m.index, result });
  } catch (e) {
    send({ type: 'error', index: m.index, error: serializeError(e) });
  }
});
