/**
 * How a scenario's state reads in traces and tests: values in kernel words (PTEs as flags, mapping
 * words as what they point at), the state snapshot the trace viewer shows after each step, and
 * the canonical final state the DPOR-vs-naive tests compare.
 */
import type { Kernel } from '../kernel/kernel.ts';
import { fmtEntry, pte_huge } from '../kernel/pgtable.ts';
import { opEnabled, waitWords } from '../sim/sync.ts';
import type { World } from '../sim/world.ts';
import type { StateSnapshot } from '../trace/schema.ts';
import { kernelName } from '../trace/names.ts';

export function formatValue(k: Kernel, name: string, v: unknown): string {
  const m = /^(pte|pmd|pud|pgd)@/.exec(name);
  if (m && typeof v === 'number') return fmtEntry(v, { pte: 1, pmd: 2, pud: 3, pgd: 4 }[m[1] as 'pte']);
  if (name.endsWith('.mapping') && typeof v === 'number') return k.describeWord(v);
  if (typeof v === 'boolean') return name.includes('.PG_') || name.includes('fs_private') ? (v ? 'set' : 'clear') : String(v);
  return String(v);
}

export function snapshot(k: Kernel, w: World): StateSnapshot {
  const folios = [...k.pages.values()]
    .filter((p) => p.compound_head.v === 0 && p.pfn !== k.zeroPfn && (p.ghost.owner !== 'free' || p._refcount.v !== 0) && !(p.ghost.ownerDesc === 'hugetlb pool'))
    .sort((a, b) => a.pfn - b.pfn)
    .map((p) => ({
      pfn: p.pfn,
      owner: p.ghost.owner === 'free' ? 'free' : p.ghost.ownerDesc,
      gen: p.ghost.gen,
      refcount: p._refcount.v,
      ...(p.PG_head.v ? { pincount: p._pincount.v } : {}),
      mapcount: p._mapcount.v,
      mapping: k.describeWord(p.mapping.v),
      flags: p.flagNames(),
    }));
  const entries: { name: string; value: string }[] = [];
  for (const t of [...k.tables.values()].sort((a, b) => a.tpfn - b.tpfn)) {
    if (!t.live.v) continue;
    for (const [va, cell] of t.existing()) {
      if (t.level === 1 || (cell.v && pte_huge(cell.v))) entries.push({ name: `${t.levelName}@0x${va.toString(16)}`, value: fmtEntry(cell.v, t.level) });
    }
  }
  const cpus = w.threads.map((t) => {
    const op = t.op;
    const enabled = t.done || opEnabled(w, t, op);
    return {
      name: t.name,
      irqs: t.irqOff > 0 ? ('off' as const) : ('on' as const),
      rcu: t.inRcuReader,
      next: t.done ? 'done' : `${kernelName(k.rev, op.site.fn)}: ${op.site.action}`,
      ...(enabled || !op.wait ? {} : { blocked: waitWords(op.wait) }),
    };
  });
  const freed = [
    ...k.mappings.filter((m) => !m.live.v).map((m) => `address_space(${m.desc})`),
    ...[...k.tables.values()].filter((t) => !t.live.v).map((t) => `${t.levelName}-table@${t.tpfn.toString(16)}`),
  ];
  return { folios, entries, cpus, freed };
}

// ===== final state (DPOR-vs-naive tests) =====

/**
 * The final state. An execution that ended at a fatal finding (an oops) is keyed by the finding
 * alone: what unrelated CPUs happened to do before it differs between equivalent executions.
 */
export function stateKey(k: Kernel, w: World): string {
  if (w.oopsed) return `oops: ${w.findings.filter((f) => f.fatal).map((f) => `${f.id}: ${f.message}`).sort().join('; ')}`;
  const parts: string[] = [];
  for (const p of [...k.pages.values()].sort((a, b) => a.pfn - b.pfn)) {
    if (p.ghost.owner === 'free' && p._refcount.v === 0) continue;
    parts.push(`${p.pfn}:${p.ghost.owner}:${p._refcount.v}:${k.describeWord(p.mapping.v)}:${p.flagNames().join('|')}:${p.data.v}`);
  }
  for (const t of [...k.tables.values()].sort((a, b) => a.tpfn - b.tpfn)) {
    if (!t.live.v) {
      parts.push(`t${t.tpfn}:freed`);
      continue;
    }
    for (const [va, cell] of t.existing()) if (cell.v) parts.push(`${t.levelName}@${va.toString(16)}=${fmtEntry(cell.v, t.level)}`);
  }
  for (const f of k.files) {
    const i = f.f_inode;
    parts.push(`file ${f.f_mapping.desc}: f_count ${f.f_count.v}${f.fd.v ? ' fd' : ''}${f.released ? ' released' : ''}; i_size ${i.i_size.v} i_nlink ${i.i_nlink}${i.freeing ? ' freeing' : ''}${f.f_mapping.live.v ? '' : ' freed'}`);
  }
  parts.push([...w.outcomes.entries()].sort().map(([a, b]) => `${a}=${b}`).join(','));
  parts.push(w.findings.map((f) => f.id).sort().join(','));
  return parts.join('\n');
}

