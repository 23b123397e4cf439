/**
 * `gupcheck schema`: the JSON Schema (draft 2020-12) of scenario files, generated from the zod
 * schema the parser checks files against (scenarios/schema.ts), so the two cannot drift apart.
 *
 * What zod's toJSONSchema() cannot express is added here, to match what the parser accepts:
 *   - Expectation's refinement (exactly one of `finding` and `outcome`) becomes a oneOf;
 *   - kernel names may be YAML numbers (`6.5`): the parser keeps the text as written, so the
 *     schema accepts the numbers those names read as;
 *   - mutant names and outcome CPU names, which the parser checks after the schema, get an enum
 *     and a pattern.
 * It is generated for the input side (`io: 'input'`): keys with defaults are optional.
 */
import { Command } from '@commander-js/extra-typings';
import { z } from 'zod';
import { MUTANTS } from '../../kernel/mutants.ts';
import { Expectation, KERNEL_NAMES, Scenario } from '../../scenarios/schema.ts';
import { writeAtomic } from '../files.ts';
import type { Out } from '../output.ts';

type Json = Record<string, unknown>;

export const SCENARIO_SCHEMA_ID = 'urn:gupcheck:scenario-schema:1';

/** Descriptions for keys the zod schema leaves undescribed (JSON-pointer-like paths). */
const DESCRIPTIONS: readonly (readonly [readonly string[], string])[] = [
  [['name'], 'the scenario name (letters, digits, _ and -); replay tokens and trace file names use it'],
  [['kernels'], 'the kernel revisions to run it on (gupcheck list); default [6.5]'],
  [['arches'], 'the architectures to run it on; default [x86, arm64]'],
  [['mutants'], 'extra runs with a mutant applied (gupcheck list), each on the kernels and arches given or all of the scenario\'s'],
  [['table-free'], 'override how page tables are freed on every run: ipi (after a TLB-flush IPI) or rcu (after a grace period)'],
  [['preemption-bound'], 'explore schedules with at most this many preemptions (not complete; dpor and auto explore some of them, --strategy stateful every one)'],
  [['layout'], 'the VMAs the process maps and touches before the CPUs start (1 to 8)'],
  [['files'], 'accepted but not used by the model yet'],
  [['cpus'], 'CPU0 .. CPU9, each with 1 to 16 operations run in order; the checker interleaves the CPUs'],
  [['expect'], 'what must hold on each matching run: a finding or an outcome, never, sometimes or always'],
  [['layout', '*', 'name'], 'the VMA name operations refer to'],
  [['layout', '*', 'backing'], 'what backs the mapping (see gupcheck pin --help for each backing)'],
  [['layout', '*', 'map'], 'MAP_SHARED or MAP_PRIVATE'],
  [['layout', '*', 'prot'], 'PROT_READ|PROT_WRITE (rw) or PROT_READ (r)'],
  [['layout', '*', 'zone'], 'where the pages are allocated: normal, or ZONE_MOVABLE (long-term pins migrate them)'],
  [['mutants', '*', 'mutant'], 'the mutant name'],
  [['mutants', '*', 'kernel'], 'only on these kernels (default: the scenario\'s kernels)'],
  [['mutants', '*', 'arch'], 'only on these architectures (default: the scenario\'s arches)'],
  [['expect', '*', 'kernel'], 'only runs on these kernels (default: every kernel)'],
  [['expect', '*', 'arch'], 'only runs on these architectures (default: every arch)'],
  [['expect', '*', 'finding'], "a finding id (gupcheck explain <id>), or 'any' for any finding"],
  [['expect', '*', 'is'], 'never: in no execution; sometimes: in at least one; always: in every execution'],
  [['expect', '*', 'why'], 'a note for the reader (not checked)'],
];

/** The JSON Schema of scenario files. */
export function scenarioJsonSchema(): Json {
  const generated = z.toJSONSchema(Scenario, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }) => {
      // Expectation's .refine(): exactly one of `finding` and `outcome`.
      if (zodSchema === Expectation) jsonSchema.oneOf = [{ required: ['finding'] }, { required: ['outcome'] }];
    },
  }) as Json;

  const kernelNumbers = [...new Set(KERNEL_NAMES.filter((n) => /^[0-9]+\.[0-9]+$/.test(n)).map(Number))];
  const defs: Json = {
    kernel: {
      description: `a kernel revision (gupcheck list). YAML reads 6.5 as a number; gupcheck keeps the text as written, so 6.10 means 6.10`,
      anyOf: [
        { type: 'string', enum: [...KERNEL_NAMES] },
        { type: 'number', enum: kernelNumbers },
      ],
    },
  };
  const isKernelEnum = (v: unknown): boolean => {
    const e = (v as Json | null)?.enum;
    return Array.isArray(e) && e.length === KERNEL_NAMES.length && e.every((x, i) => x === KERNEL_NAMES[i]);
  };
  const replaceKernels = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(replaceKernels);
    if (v === null || typeof v !== 'object') return v;
    if (isKernelEnum(v)) return { $ref: '#/$defs/kernel' };
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, replaceKernels(x)]));
  };
  const body = replaceKernels(generated) as Json;
  delete body.$schema;

  const mutantNames = MUTANTS.map((m) => m.name);
  prop(body, ['mutants', '*', 'mutant']).enum = mutantNames;
  Object.assign(prop(body, ['expect', '*', 'mutant']), { enum: [...mutantNames, '*'] });
  const expectItem = items(prop(body, ['expect']));
  expectItem.description = 'exactly one of finding and outcome, with is';
  Object.assign(prop(body, ['expect', '*', 'outcome']), {
    description: 'the value a CPU ends with, e.g. {CPU0: fell-back} (docs/scenario-format.md lists the values)',
    propertyNames: { type: 'string', pattern: '^CPU[0-9]$' },
    minProperties: 1,
  });
  for (const [path, text] of DESCRIPTIONS) {
    const p = prop(body, path);
    p.description ??= text;
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: SCENARIO_SCHEMA_ID,
    title: 'gupcheck scenario',
    description:
      'A gupcheck scenario file (YAML or JSON): a memory layout, the kernel operations each CPU runs, and what is expected on each kernel revision, architecture and mutant. See docs/scenario-format.md; `gupcheck check FILE` checks it.',
    ...body,
    $defs: defs,
  };
}

/** The schema of the array's items. */
function items(s: Json): Json {
  const it = s.items;
  if (!it || typeof it !== 'object' || Array.isArray(it)) throw new Error(`[gupcheck internal bug] schema: expected an array schema`);
  return it as Json;
}

/** The property schema at `path` (`*` steps into array items), from the top-level object schema. */
function prop(root: Json, path: readonly string[]): Json {
  let s = root;
  for (const key of path) {
    if (key === '*') {
      s = items(s);
      continue;
    }
    const p = (s.properties as Record<string, Json> | undefined)?.[key];
    if (!p) throw new Error(`[gupcheck internal bug] schema: no property ${path.join('.')}`);
    s = p;
  }
  return s;
}

export function schemaCommand(out: Out) {
  return new Command('schema')
    .description('print the JSON Schema (draft 2020-12) of scenario files, for editors and other tools')
    .option('--out <file>', 'write it to this file (atomically) instead of printing it')
    .addHelpText(
      'after',
      `
The schema is generated from the one the parser checks files with. Editors that use the YAML
language server (e.g. VS Code's YAML extension) validate and complete a scenario file that starts
with the comment
  # yaml-language-server: $schema=scenario.schema.json
A few checks need the whole file and are made only by gupcheck (VMA names that exist, pages
within the VMA, a truncate of a file-backed VMA, ...).

Examples:
  gupcheck schema > scenario.schema.json
  gupcheck schema --out scenario.schema.json`,
    )
    .action((o) => {
      const text = JSON.stringify(scenarioJsonSchema(), null, 2) + '\n';
      if (o.out) {
        writeAtomic(o.out, text);
        out.write(`schema: ${o.out}\n`);
      } else out.write(text);
    });
}
