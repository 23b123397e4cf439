/**
 * Replay tokens: one shell-safe string that names a scenario, a run and a schedule, so
 * `gupcheck replay TOKEN` re-runs exactly one execution (Shuttle's printed schedule string).
 *
 *   gc1:<scenario>:<kernel>:<arch>:<mutant or ->:<options>:<schedule>:<source>:<check>
 *
 * options   comma-separated key=value (tf=ipi|rcu table freeing, tl=ipi|broadcast TLB flush,
 *           f=<finding id> which finding of the execution the token is for, given only when it is
 *           not the first one the execution reports), empty for none
 * schedule  comma-separated steps: a thread index (0-31), `x<n>` to repeat it n times, `v<k>` for
 *           the value a choice took: "0x5,1x3,2v1,0x2"
 * source    first 8 hex digits of the SHA-256 of the scenario file: replaying against a changed
 *           scenario is refused
 * check     first 6 hex digits of the SHA-256 of everything before it: a mistyped or truncated
 *           token is refused
 * Only letters, digits and `-_.,:=+` appear, so the token needs no quoting in a shell (`+` is in
 * the kernel field of a patched revision, `6.1+my-check.c`; its replay command adds the
 * --kernel/--patch options that load it again).
 */
import { createHash } from 'node:crypto';
import { GupcheckError } from '../errors.ts';

export interface TokenData {
  readonly scenario: string;
  readonly kernel: string;
  readonly arch: string;
  readonly mutant: string | null;
  readonly tableFree?: string | undefined;
  readonly tlbFlush?: string | undefined;
  /** The finding the token is for, when it is not the first one its execution reports. */
  readonly finding?: string | undefined;
  readonly schedule: readonly number[];
  /** Choice value per step (-1 for non-choice steps). */
  readonly values: readonly number[];
  /** Hash of the scenario source. */
  readonly source: string;
}

/** A token that cannot be read: GUPCHECK_BAD_TOKEN. */
export class TokenError extends GupcheckError {
  constructor(message: string) {
    super('GUPCHECK_BAD_TOKEN', message, 'copy the whole token from the report or the JSON output');
  }
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

export function sourceHash(src: string): string {
  return sha(src).slice(0, 8);
}

export function encodeToken(d: TokenData): string {
  const steps: string[] = [];
  for (let i = 0; i < d.schedule.length; ) {
    const t = d.schedule[i]!;
    const v = d.values[i] ?? -1;
    if (v >= 0) {
      steps.push(`${t}v${v}`);
      i++;
      continue;
    }
    let n = 1;
    while (i + n < d.schedule.length && d.schedule[i + n] === t && (d.values[i + n] ?? -1) < 0) n++;
    steps.push(n > 1 ? `${t}x${n}` : `${t}`);
    i += n;
  }
  const opts = [d.tableFree ? `tf=${d.tableFree}` : '', d.tlbFlush ? `tl=${d.tlbFlush}` : '', d.finding ? `f=${d.finding}` : ''].filter(Boolean).join(',');
  const body = ['gc1', d.scenario, d.kernel, d.arch, d.mutant ?? '-', opts, steps.join(','), d.source].join(':');
  return `${body}:${sha(body).slice(0, 6)}`;
}

export function decodeToken(token: string): TokenData {
  const t = token.trim();
  const version = /^gc(\d+):/.exec(t)?.[1];
  if (version !== undefined && version !== '1') {
    throw new TokenError(`token format gc${version} is not one this gupcheck reads (this gupcheck reads gc1): it was made by another version of gupcheck`);
  }
  if (!t.startsWith('gc1:')) {
    throw new TokenError(`not a gupcheck replay token (it should start with "gc1:"; got "${t.slice(0, 12)}${t.length > 12 ? '...' : ''}")`);
  }
  const parts = t.split(':');
  if (parts.length !== 9) throw new TokenError(`malformed token: expected 9 fields separated by ':', found ${parts.length}`);
  const [, scenario, kernel, arch, mutant, opts, sched, source, check] = parts as [string, string, string, string, string, string, string, string, string];
  const body = parts.slice(0, 8).join(':');
  if (sha(body).slice(0, 6) !== check) throw new TokenError('the token is corrupted (its checksum does not match): copy it again from the report');
  const schedule: number[] = [];
  const values: number[] = [];
  if (sched) {
    for (const s of sched.split(',')) {
      const m = /^(\d+)(?:x(\d+)|v(\d+))?$/.exec(s);
      if (!m) throw new TokenError(`malformed schedule step "${s}"`);
      const tid = Number(m[1]);
      if (tid > 31) throw new TokenError(`schedule step "${s}" names thread ${tid}; threads are numbered 0 to 31`);
      const n = m[2] ? Number(m[2]) : 1;
      if (n < 1 || n > 1_000_000) throw new TokenError(`bad repeat count in "${s}"`);
      for (let i = 0; i < n; i++) {
        schedule.push(tid);
        values.push(m[3] !== undefined ? Number(m[3]) : -1);
      }
    }
  }
  const o: Record<string, string> = {};
  for (const kv of opts ? opts.split(',') : []) {
    const [k, v] = kv.split('=');
    if (!k || !v) throw new TokenError(`malformed option "${kv}"`);
    o[k] = v;
  }
  return { scenario, kernel, arch, mutant: mutant === '-' ? null : mutant, tableFree: o.tf, tlbFlush: o.tl, finding: o.f, schedule, values, source };
}
