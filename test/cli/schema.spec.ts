/**
 * `gupcheck schema`: the JSON Schema accepts every bundled example, its enums are the names the
 * parser accepts, and a broken file is rejected at the same key the parser names.
 *
 * The validator below covers the JSON Schema keywords the generated schema uses and refuses any
 * other, so a new keyword in the output fails this test instead of being silently ignored. (No
 * JSON Schema library is a dependency: ajv sits in node_modules only as eslint's, at 6.x, which
 * knows draft-07 but not 2020-12.)
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { MUTANTS } from '../../src/kernel/mutants.ts';
import { REVISION_NAMES } from '../../src/kernel/revisions/index.ts';
import { parseScenario, ScenarioError } from '../../src/scenarios/parse.ts';
import { ARCH_NAMES, BACKING_NAMES, FINDING_IDS, FOLL_FLAG_NAMES, OpSpec } from '../../src/scenarios/schema.ts';
import { gupcheck, ROOT } from './helpers.ts';

type Json = Record<string, unknown>;
type Path = (string | number)[];
interface Problem {
  readonly path: Path;
  readonly message: string;
}

const KNOWN = new Set([
  '$schema', '$id', '$defs', '$ref', 'title', 'description', 'default',
  'type', 'enum', 'const', 'pattern', 'minimum', 'maximum', 'minItems', 'maxItems', 'minProperties',
  'properties', 'required', 'additionalProperties', 'propertyNames', 'items', 'anyOf', 'oneOf',
]);

function typeOk(t: string, v: unknown): boolean {
  switch (t) {
    case 'object':
      return v !== null && typeof v === 'object' && !Array.isArray(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'number':
      return typeof v === 'number';
    case 'integer':
      return Number.isInteger(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'null':
      return v === null;
    default:
      throw new Error(`validator: unknown type ${t}`);
  }
}

/** Problems of `v` against schema `s` (empty when valid). For a failed anyOf/oneOf, the branch that got furthest. */
function validate(root: Json, s: Json, v: unknown, path: Path = []): Problem[] {
  for (const k of Object.keys(s)) if (!KNOWN.has(k)) throw new Error(`validator: keyword ${k} not supported (at ${path.join('.')})`);
  if (typeof s.$ref === 'string') {
    const m = /^#\/\$defs\/(.+)$/.exec(s.$ref);
    if (!m) throw new Error(`validator: $ref ${s.$ref}`);
    return validate(root, (root.$defs as Record<string, Json>)[m[1]!]!, v, path);
  }
  const out: Problem[] = [];
  const bad = (message: string, at = path) => out.push({ path: at, message });
  if (typeof s.type === 'string' && !typeOk(s.type, v)) return [{ path, message: `expected ${s.type}` }];
  if (Array.isArray(s.enum) && !s.enum.includes(v)) bad(`not one of ${JSON.stringify(s.enum)}`);
  if ('const' in s && s.const !== v) bad(`expected ${JSON.stringify(s.const)}`);
  if (typeof v === 'string' && typeof s.pattern === 'string' && !new RegExp(s.pattern, 'u').test(v)) bad(`does not match ${s.pattern}`);
  if (typeof v === 'number') {
    if (typeof s.minimum === 'number' && v < s.minimum) bad(`below ${s.minimum}`);
    if (typeof s.maximum === 'number' && v > s.maximum) bad(`above ${s.maximum}`);
  }
  if (Array.isArray(v)) {
    if (typeof s.minItems === 'number' && v.length < s.minItems) bad(`fewer than ${s.minItems} items`);
    if (typeof s.maxItems === 'number' && v.length > s.maxItems) bad(`more than ${s.maxItems} items`);
    if (s.items) v.forEach((x, i) => out.push(...validate(root, s.items as Json, x, [...path, i])));
  }
  if (typeOk('object', v)) {
    const o = v as Json;
    const props = (s.properties ?? {}) as Record<string, Json>;
    if (typeof s.minProperties === 'number' && Object.keys(o).length < s.minProperties) bad(`fewer than ${s.minProperties} keys`);
    for (const r of (s.required ?? []) as string[]) if (!(r in o)) bad('required', [...path, r]);
    for (const [k, x] of Object.entries(o)) {
      if (s.propertyNames) for (const p of validate(root, s.propertyNames as Json, k, [...path, k])) bad(`key ${p.message}`, p.path);
      if (props[k]) out.push(...validate(root, props[k], x, [...path, k]));
      else if (s.additionalProperties === false) bad(`unknown key '${k}'`);
      else if (s.additionalProperties && typeof s.additionalProperties === 'object') out.push(...validate(root, s.additionalProperties as Json, x, [...path, k]));
    }
  }
  for (const kw of ['anyOf', 'oneOf'] as const) {
    const branches = s[kw] as Json[] | undefined;
    if (!branches) continue;
    const results = branches.map((b) => validate(root, b, v, path));
    const ok = results.filter((r) => r.length === 0).length;
    if (kw === 'oneOf' && ok > 1) bad('matches more than one oneOf branch');
    if (ok === 0) {
      const depth = (r: Problem[]) => Math.max(...r.map((p) => p.path.length));
      const best = results.reduce((a, b) => (depth(b) > depth(a) ? b : a));
      // A branch that fails only at this level (e.g. a required key of a oneOf) says nothing more precise.
      out.push(...(depth(best) > path.length ? best : [{ path, message: `matches no ${kw} branch` }]));
    }
  }
  return out;
}

/** The parser's way of writing a path: cpus.CPU0[0].flags[1]. */
function pathText(path: Path): string {
  if (!path.length) return '(top level)';
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${p}` : p;
  return s;
}

const schemaRun = gupcheck(['schema']);
const schema = JSON.parse(schemaRun.stdout) as Json;
const examples = readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.yaml'));

const props = (s: Json) => s.properties as Record<string, Json>;
const top = props(schema);
const itemsOf = (s: Json) => s.items as Json;
const opBranches = (itemsOf(top.cpus!.additionalProperties as Json).oneOf as Json[]).map(props);
const opNamesInSchema = opBranches.flatMap((b) => (b.op!.enum as string[] | undefined) ?? [b.op!.const as string]);
const kernelDef = (schema.$defs as Record<string, Json>).kernel!;

describe('gupcheck schema', () => {
  it('prints a draft 2020-12 schema with an $id, a title and descriptions; --out writes the same text', () => {
    expect(schemaRun.code).toBe(0);
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toMatch(/^urn:gupcheck:/);
    expect(schema.title).toBe('gupcheck scenario');
    for (const [k, p] of Object.entries(top)) expect(p.description, k).toBeTruthy();
    expect(schema.required).toEqual(['name', 'shows', 'layout', 'cpus']);
    const f = join(mkdtempSync(join(tmpdir(), 'gupcheck-schema-')), 'sub', 'scenario.schema.json');
    const r = gupcheck(['schema', '--out', f]);
    expect(r.code).toBe(0);
    expect(readFileSync(f, 'utf8')).toBe(schemaRun.stdout);
    expect(readdirSync(join(f, '..'))).toEqual(['scenario.schema.json']);
  });

  it.each(examples)('accepts examples/%s', (f) => {
    const data: unknown = parse(readFileSync(join(ROOT, 'examples', f), 'utf8'));
    expect(validate(schema, schema, data)).toEqual([]);
  });

  it('has the names the parser and the command line accept: ops, kernels, arches, backings, flags, mutants, findings', () => {
    const zodOps = OpSpec.options.flatMap((o) => {
      const op = o.shape.op as { options?: readonly string[]; value?: string };
      return op.options ?? [op.value!];
    });
    expect(opNamesInSchema.sort()).toEqual([...zodOps].sort());
    expect(opNamesInSchema).toHaveLength(19);
    const [kStrings, kNumbers] = kernelDef.anyOf as Json[];
    expect(kStrings!.enum).toEqual(REVISION_NAMES);
    expect(kNumbers!.enum).toEqual([6.1, 6.5, 6.12, 6.15]);
    expect(itemsOf(top.arches!).enum).toEqual([...ARCH_NAMES]);
    const vma = props(itemsOf(top.layout!));
    expect(vma.backing!.enum).toEqual([...BACKING_NAMES]);
    expect(itemsOf(opBranches.find((b) => b.flags)!.flags!).enum).toEqual([...FOLL_FLAG_NAMES]);
    expect(props(itemsOf(top.mutants!)).mutant!.enum).toEqual(MUTANTS.map((m) => m.name));
    const ex = props(itemsOf(top.expect!));
    expect(ex.mutant!.enum).toEqual([...MUTANTS.map((m) => m.name), '*']);
    expect(ex.finding!.enum).toEqual([...FINDING_IDS, 'any']);
    expect(ex.is!.enum).toEqual(['never', 'sometimes', 'always']);
  });

  const base = `name: bad
shows: x
kernels: [6.5]
layout:
  - { name: buf, backing: anon }
cpus:
  CPU0:
    - { op: pin_user_pages_fast, vma: buf, flags: [FOLL_WRITE] }
expect:
  - { finding: any, is: never }
`;
  const broken: [string, string, string][] = [
    ['an unknown backing', 'backing: anon', 'backing: ext9'],
    ['an unknown top-level key', 'expect:', 'expects:'],
    ['a missing key', 'shows: x\n', ''],
    ['an unknown FOLL flag', '[FOLL_WRITE]', '[FOLL_WRITE, FOLL_WRTE]'],
    ['an unknown op', 'op: pin_user_pages_fast', 'op: pin_user_page'],
    ['an unknown option of an op', 'vma: buf, flags', 'vma: buf, pgae: 1, flags'],
    ['an unknown kernel', 'kernels: [6.5]', 'kernels: [6.5, 6.9]'],
    ['an unknown mutant', '{ finding: any,', '{ mutant: no-such-mutant, finding: any,'],
    ['both finding and outcome', '{ finding: any,', '{ outcome: { CPU0: pinned-fast }, finding: any,'],
    ['an outcome for a CPU name that cannot exist', '{ finding: any,', '{ outcome: { cpu0: pinned-fast },'],
    ['a bad expectation verdict', 'is: never', 'is: rarely'],
    ['too many pages', '{ name: buf, backing: anon }', '{ name: buf, backing: anon, pages: 65 }'],
  ];

  it('the unbroken file is valid for both', () => {
    expect(validate(schema, schema, parse(base))).toEqual([]);
    expect(() => parseScenario('bad.yaml', base)).not.toThrow();
  });

  it.each(broken)('rejects %s at the key the parser names', (_what, from, to) => {
    const src = base.replace(from, to);
    expect(src).not.toBe(base);
    let err: unknown;
    try {
      parseScenario('bad.yaml', src);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScenarioError);
    const parserPath = (err as ScenarioError).what.split(': ')[0];
    const problems = validate(schema, schema, parse(src));
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.map((p) => pathText(p.path))).toContain(parserPath);
  });
});
