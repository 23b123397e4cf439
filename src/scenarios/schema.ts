/**
 * The scenario file format (docs/scenario-format.md), as a zod schema. The parser checks files
 * against it and points errors at file:line:col; `gupcheck schema` prints the JSON Schema
 * generated from it for editors.
 */
import { z } from 'zod';
import { REVISION_NAMES } from '../kernel/revisions/index.ts';
import { OWNERS } from '../kernel/reuse.ts';
import { BACKINGS } from '../kernel/setup.ts';
import { ARCHES } from '../kernel/types.ts';
import { FOLL_FLAG_NAMES, OP_TABLE, type OpSpecT } from './ops.ts';

export const FINDING_IDS = [
  'wild-deref',
  'null-deref',
  'pin-on-reused-page',
  'refcount',
  'irqs-enabled-assert',
  'warn',
  'longterm-write-pin-on-dirty-tracked-file',
  'dirty-without-mkwrite',
  'deadlock',
  'anon-pin-not-exclusive',
  'pt-use-after-free',
] as const;

export const KERNEL_NAMES = REVISION_NAMES;
export const ARCH_NAMES = ARCHES;
export const BACKING_NAMES = BACKINGS;
export { FOLL_FLAG_NAMES };
export const OWNER_NAMES = OWNERS;

const kernelName = z.enum(KERNEL_NAMES as unknown as [string, ...string[]]);
/** A revision module (docs/revisions.md), named by its path relative to the scenario file. */
export const MODULE_PATH = /^[^\s]+\.(ts|mts|js|mjs)$/;
export const isModulePath = (v: string): boolean => MODULE_PATH.test(v);
// The message a bad kernel name gets (the union's last branch reports it): the valid names first.
const kernelModule = z.string().regex(MODULE_PATH, `expected one of ${KERNEL_NAMES.map((k) => JSON.stringify(k)).join(', ')}, or a revision module (a .ts or .js file, relative to the scenario file)`);
/** A built-in revision name, or a revision module's path. */
const kernelRef = z.union([kernelName, kernelModule]);
const oneOrMany = <T extends z.ZodType>(t: T) => z.union([t, z.array(t).min(1)]);
const name = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'a name: letters, digits, _ and -');
const count = (max: number) => z.number().int().min(1).max(max);

export const VmaSpec = z
  .object({
    name,
    backing: z.enum(BACKING_NAMES),
    map: z.enum(['shared', 'private']).default('private'),
    prot: z.enum(['rw', 'r']).default('rw'),
    pages: count(64).default(1).describe('length in pages of the backing page size (huge pages for hugetlb)'),
    touch: z.enum(['write', 'read', 'none']).default('write').describe('how the process touches every page during setup'),
    thp: z.enum(['pmd', 'pte']).optional().describe('anonymous THP: PMD-mapped (2 MB), or a PTE-mapped order-2 folio'),
    swapcache: z.boolean().default(false).describe('put the (touched, anonymous) pages in the swap cache, still mapped'),
    zone: z.enum(['normal', 'movable']).default('normal'),
    file: name.optional().describe('map the same file as another VMA (by its name)'),
  })
  .strict();

/** One operation of a CPU's list: the union of the operation table's schemas (scenarios/ops.ts). */
export const OpSpec = z.discriminatedUnion('op', OP_TABLE.map((d) => d.schema) as unknown as [(typeof OP_TABLE)[number]['schema'], ...(typeof OP_TABLE)[number]['schema'][]]);

const Selector = {
  kernel: oneOrMany(kernelRef).optional(),
  arch: oneOrMany(z.enum(ARCH_NAMES)).optional(),
  mutant: z.string().optional().describe("omitted: only unmutated runs; '*': every run"),
};

export const Expectation = z
  .object({
    ...Selector,
    finding: z.enum([...FINDING_IDS, 'any']).optional(),
    outcome: z.record(z.string(), z.string()).optional().describe('e.g. {CPU0: fell-back}'),
    is: z.enum(['never', 'sometimes', 'always']),
    why: z.string().optional(),
  })
  .strict()
  .refine((e) => (e.finding === undefined) !== (e.outcome === undefined), { message: 'give exactly one of `finding` or `outcome`' });

export const MutantRun = z
  .object({ mutant: z.string(), kernel: oneOrMany(kernelRef).optional(), arch: oneOrMany(z.enum(ARCH_NAMES)).optional() })
  .strict();

export const Scenario = z
  .object({
    name,
    shows: z.string().describe('what the scenario shows, in a sentence or two'),
    kernels: z.array(kernelRef).min(1).default(['6.5']),
    arches: z.array(z.enum(ARCH_NAMES)).min(1).default(['x86', 'arm64']),
    mutants: z.array(MutantRun).default([]),
    'table-free': z.enum(['ipi', 'rcu']).optional(),
    'preemption-bound': z.number().int().min(0).max(20).optional(),
    strict: z.boolean().default(true).describe('a finding no expectation mentions makes the run fail'),
    layout: z.array(VmaSpec).min(1).max(8),
    files: z.array(z.object({ name, fs: z.enum(['ext4', 'xfs', 'btrfs', 'tmpfs']) }).strict()).default([]),
    cpus: z.record(z.string().regex(/^CPU[0-9]$/, 'CPU0 .. CPU9'), z.array(OpSpec).min(1).max(16)),
    expect: z.array(Expectation).default([]),
  })
  .strict();

export type ScenarioT = z.infer<typeof Scenario>;
export type VmaSpecT = z.infer<typeof VmaSpec>;
export type { OpSpecT };
export type ExpectationT = z.infer<typeof Expectation>;

/** Base (4 KB) pages in a layout VMA: THPs are 512 or 4 pages, hugetlb pages count 512 or 262144. */
export function basePages(v: Pick<VmaSpecT, 'thp' | 'backing' | 'pages'>): number {
  if (v.thp === 'pmd') return 512;
  if (v.thp === 'pte') return 4;
  const huge = v.backing === 'memfd_hugetlb' || v.backing === 'hugetlbfs' ? 512 : v.backing === 'memfd_hugetlb_1g' ? 262144 : 1;
  return v.pages * huge;
}
