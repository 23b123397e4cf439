/**
 * One exploration worker (src/run/pool.ts): explores the work items it is sent, one at a time,
 * with the same explorer as the single-threaded path. For a split search it forwards backtrack
 * requests at shared nodes, hands out the other values of a fresh choice, and donates part of
 * its tree when the pool sets its `wanted` flag. Progress goes out every 250 ms.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ParsedScenario } from '../scenarios/parse.ts';
import { loadScenario } from './load.ts';
import { type FromWorker, serializeError, type ToWorker } from './pool.ts';
import { explore } from './run.ts';
import { ensureKernel } from '../patch/load.ts';
import { STOPPED_AT_FINDING } from '../check/defaults.ts';

const port = parentPort!;
const { stopFlag, wanted, executions, found, id } = workerData as { stopFlag: Int32Array; wanted: Int32Array; executions: Int32Array; found: Int32Array; id: number };
const parsed = new Map<string, ParsedScenario>();
const send = (m: FromWorker) => port.postMessage(m);

port.on('message', (m: ToWorker) => void explore1(m));

async function explore1(m: ToWorker): Promise<void> {
  const itemId = m.itemId;
  let last = Date.now();
  try {
    // A revision module or C patch: this thread loads its own copy, bound to this thread's model.
    if (m.run.kernelSource) await ensureKernel(m.run.kernelSource);
    let p = parsed.get(m.file);
    if (!p) parsed.set(m.file, (p = loadScenario(m.file)));
    // In a split search --max-executions counts the whole run's executions, over all of its
    // items (several workers may each finish one more before they see the count: at most
    // workers - 1 extra). A whole-run item (random/PCT samples) keeps its own count.
    const max = m.item ? m.opts.maxExecutions : undefined;
    let capped = false;
    // --stop-at-finding in a split search: an item stops when another item's findings decided the run's verdict.
    let foundElsewhere = false;
    const stopsSplit = m.opts.stopAtFinding === true && m.item !== null;
    let reported = 0;
    const r = explore(p.scenario, m.run, {
      ...m.opts,
      maxExecutions: m.item ? undefined : m.opts.maxExecutions,
      split: m.item
        ? {
            item: m.item,
            request: (depth, mask) => send({ type: 'request', itemId, depth, mask }),
            moreValues: (n) => send({ type: 'values', itemId, n }),
            wanted: () => Atomics.load(wanted, id) === 1,
            donate: (nodes) => {
              Atomics.store(wanted, id, 0);
              send({ type: 'donate', itemId, nodes });
            },
          }
        : undefined,
      shouldStop: () => {
        if (Atomics.load(stopFlag, 0)) return 'interrupted';
        if (max !== undefined && Atomics.load(executions, m.index) >= max) {
          capped = true;
          return 'executions';
        }
        if (m.opts.stopAtFinding && Atomics.load(found, m.index)) {
          foundElsewhere = true;
          return 'finding';
        }
        return undefined;
      },
      onExecution: (res) => {
        Atomics.add(executions, m.index, 1);
        const now = Date.now();
        // --stop-at-finding in a split search: a new finding goes to the coordinator at once, with the
        // item's results, since it may decide the run's verdict together with other items' findings.
        const judged = stopsSplit && res.findings.size > 0;
        const fresh = judged && res.findings.size > reported;
        if (now - last < 250 && !fresh) return;
        last = now;
        reported = res.findings.size;
        send({ type: 'progress', itemId, executions: res.executions, frontier: res.frontier, findings: [...res.findings.keys()], results: judged ? res.data() : undefined });
      },
    });
    // Its own findings decided the run's verdict (findingsDecide() is monotone): the run's other items stop.
    if (r.limit === 'finding' && !foundElsewhere) Atomics.store(found, m.index, 1);
    const data = r.data();
    send({
      type: 'done',
      itemId,
      results: capped
        ? { ...data, limit: 'executions', stopReason: `stopped after --max-executions ${max} executions; raise it to explore further` }
        : foundElsewhere
          ? { ...data, limit: 'finding', stopReason: STOPPED_AT_FINDING }
          : data,
    });
  } catch (e) {
    send({ type: 'error', itemId, error: serializeError(e) });
  }
}
