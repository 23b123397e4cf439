/**
 * Start-up (issue 16): how long `gupcheck --version` and a `gupcheck pin` take as a user runs
 * them (node bin/gupcheck.mjs, a new process each time), against `node -e 0` in the same run, as
 * ratios of medians. The three are run in turn, so a change of load on the machine hits all of
 * them alike. One more row runs `--version` with GUPCHECK_TSX=1 (the sources through tsx, as
 * every command ran before the prebuilt bundle), for comparison.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/gupcheck.mjs', import.meta.url));

export const PIN_ARGS = ['pin', '--kernel', '6.5', '--via', 'pin_user_pages_fast', '--write', '--longterm', '--backing', 'ext4', '--map', 'shared'] as const;

export interface StartupReport {
  /** Processes per measure (the median is taken). */
  readonly runs: number;
  readonly nodeMs: number;
  readonly versionMs: number;
  readonly pinMs: number;
  /** `--version` with GUPCHECK_TSX=1: the TypeScript sources through tsx. */
  readonly tsxVersionMs: number;
  readonly versionRatio: number;
  readonly pinRatio: number;
  readonly tsxRatio: number;
}

function timed(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code === 0) resolve(ms);
      else reject(new Error(`node ${args.join(' ')} exited ${code}: ${err.trim().split('\n').slice(-2).join(' ')}`));
    });
  });
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export async function measureStartup(runs = 15): Promise<StartupReport> {
  const version = [BIN, '--version'];
  const pin = [BIN, ...PIN_ARGS];
  const tsxEnv = { ...process.env, GUPCHECK_TSX: '1' };
  // Once each first: builds the bundle if a source changed, and warms the file cache.
  await timed(version);
  await timed(pin);
  const node: number[] = [];
  const v: number[] = [];
  const p: number[] = [];
  const tsx: number[] = [];
  for (let i = 0; i < runs; i++) {
    node.push(await timed(['-e', '0']));
    v.push(await timed(version));
    p.push(await timed(pin));
    if (i % 3 === 0) tsx.push(await timed(version, tsxEnv));
  }
  const nodeMs = median(node);
  const versionMs = median(v);
  const pinMs = median(p);
  const tsxVersionMs = median(tsx);
  return { runs, nodeMs, versionMs, pinMs, tsxVersionMs, versionRatio: versionMs / nodeMs, pinRatio: pinMs / nodeMs, tsxRatio: tsxVersionMs / nodeMs };
}

/** The bench's line: "2.1x (140 ms / 66 ms)". */
export function describeStartup(s: StartupReport): string {
  const ms = (x: number) => `${Math.round(x)} ms`;
  return `--version ${s.versionRatio.toFixed(1)}x (${ms(s.versionMs)}), pin ${s.pinRatio.toFixed(1)}x (${ms(s.pinMs)}) against node -e 0 (${ms(s.nodeMs)}); medians of ${s.runs} processes each; through tsx (GUPCHECK_TSX=1) --version is ${s.tsxRatio.toFixed(1)}x`;
}
