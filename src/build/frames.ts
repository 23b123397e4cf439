/**
 * The frame compiler: the model's sources (src/sim/, src/kernel/, src/scenarios/) as the stateful
 * explorer runs them, with every thread's state made explicit so a state can be saved, restored
 * and hashed (docs/perf.md, "The stateful search"). Two changes, both mechanical, so src/kernel/
 * still reads like mm/gup.c and the same source also runs natively (the reference):
 *
 * 1. Generator functions become frames. Babel's regenerator transform lowers each `function*` to
 *    a state machine; a pass of ours then moves its locals and parameters from closure variables
 *    into the frame's context object (`_context.$name`), and replaces Babel's runtime with ours
 *    (sim/frames.ts). A thread's state is then its stack of frame contexts: plain objects a
 *    snapshot can copy. Left out (refused with the file and line): try/catch/finally, `this`
 *    and `arguments` inside a generator.
 * 2. Every write to the heap goes through a write barrier (sim/frames.ts set/upd/del and the
 *    container mutators push, splice, Map.set, ...), which logs the old value on an undo trail
 *    while the explorer records, so a state can be undone. Writes to local variables are not
 *    barriered (they live in frames); neither are `this.x = ...` in constructors (the object is
 *    new).
 *
 * Loops with a `yield` inside iterate arrays by index (a live array iterator cannot be copied);
 * a for-of over a Map or Set with a yield inside is refused.
 */
import type * as Babel from '@babel/core';
import type { NodePath, PluginObj, types as T } from '@babel/core';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
/** Babel, loaded on first use: it takes longer to load than the rest of gupcheck to start (bin/gupcheck.mjs). */
const babel = () => require('@babel/core') as typeof Babel;
const RT = '$rt';

export class FrameCompileError extends Error {}

function where(file: string, node: T.Node): string {
  const l = node.loc?.start;
  return `${file}:${l ? `${l.line}:${l.column + 1}` : '?'}`;
}

const MUTATORS = new Set(['push', 'pop', 'shift', 'unshift', 'splice', 'sort', 'reverse', 'fill', 'set', 'delete', 'clear', 'add']);
const COMPOUND: Record<string, number> = { '+=': 1, '-=': 2, '|=': 3, '&=': 4, '*=': 5, '^=': 9, '<<=': 10, '>>=': 11, '>>>=': 12 };

function inConstructorOnThis(path: NodePath, obj: T.Node): boolean {
  if (obj.type !== 'ThisExpression') return false;
  const fn = path.getFunctionParent();
  return fn?.node.type === 'ClassMethod' && fn.node.kind === 'constructor';
}

/** Pass 1 (on the TypeScript-stripped source): the write barrier, and index loops for for-of with a yield inside. */
function barrierPlugin(file: string, { types: t }: { types: typeof T }): PluginObj {
  const rt = (name: string) => t.memberExpression(t.identifier(RT), t.identifier(name));
  const keyOf = (m: T.MemberExpression): T.Expression => (m.computed ? (m.property as T.Expression) : t.stringLiteral((m.property as T.Identifier).name));
  const hasYield = (p: NodePath) => {
    let found = false;
    p.traverse({
      YieldExpression(y) {
        found = true;
        y.stop();
      },
      Function(f) {
        f.skip();
      },
    });
    return found;
  };
  return {
    visitor: {
      AssignmentExpression(path) {
        const left = path.node.left;
        if (left.type !== 'MemberExpression') return;
        if (left.property.type === 'PrivateName') throw new FrameCompileError(`${where(file, left)}: private fields are not supported in the model`);
        if (inConstructorOnThis(path, left.object)) return;
        const op = path.node.operator;
        const obj = left.object;
        if (op === '??=' || op === '||=' || op === '&&=') {
          // Short-circuit as the source does: the right side runs (and the write happens) only
          // when the test lets it. o[k] ??= v  ->  ($o = o, $k = k, $o[$k] ?? $rt.set($o, $k, v))
          const o = path.scope.generateUidIdentifier('o');
          path.scope.push({ id: o });
          const seq: T.Expression[] = [t.assignmentExpression('=', o, obj)];
          let k: T.Expression = keyOf(left);
          if (left.computed) {
            const kid = path.scope.generateUidIdentifier('k');
            path.scope.push({ id: kid });
            seq.push(t.assignmentExpression('=', kid, k));
            k = kid;
          }
          const read = t.memberExpression(o, k, true);
          const logical = op === '??=' ? '??' : op === '||=' ? '||' : '&&';
          seq.push(t.logicalExpression(logical, read, t.callExpression(rt('set'), [o, k, path.node.right])));
          path.replaceWith(t.sequenceExpression(seq));
          return;
        }
        if (op === '=') {
          path.replaceWith(t.callExpression(rt('set'), [obj, keyOf(left), path.node.right]));
        } else if (COMPOUND[op]) {
          path.replaceWith(t.callExpression(rt('upd'), [obj, keyOf(left), t.numericLiteral(COMPOUND[op]), path.node.right]));
        } else throw new FrameCompileError(`${where(file, path.node)}: assignment operator ${op} on a property is not supported`);
      },
      UpdateExpression(path) {
        const arg = path.node.argument;
        if (arg.type !== 'MemberExpression') return;
        if (inConstructorOnThis(path, arg.object)) return;
        const d = path.node.operator === '++' ? 1 : -1;
        path.replaceWith(t.callExpression(rt('inc'), [arg.object, keyOf(arg), t.numericLiteral(d), t.booleanLiteral(path.node.prefix)]));
      },
      UnaryExpression(path) {
        if (path.node.operator !== 'delete') return;
        const arg = path.node.argument;
        if (arg.type !== 'MemberExpression') return;
        path.replaceWith(t.callExpression(rt('del'), [arg.object, keyOf(arg)]));
      },
      CallExpression(path) {
        const callee = path.node.callee;
        if (callee.type !== 'MemberExpression' || callee.computed || callee.property.type !== 'Identifier') return;
        const name = callee.property.name;
        if (!MUTATORS.has(name)) return;
        if (callee.object.type === 'Super' || (callee.object.type === 'Identifier' && callee.object.name === RT)) return;
        path.replaceWith(t.callExpression(rt(`m_${name}`), [callee.object, ...(path.node.arguments as T.Expression[])]));
      },
      OptionalCallExpression(path) {
        const callee = path.node.callee;
        if (callee.type === 'OptionalMemberExpression' && !callee.computed && callee.property.type === 'Identifier' && MUTATORS.has(callee.property.name)) {
          throw new FrameCompileError(`${where(file, path.node)}: optional call of a mutator (?.${callee.property.name}) is not supported in the model`);
        }
      },
      ForOfStatement(path) {
        const fn = path.getFunctionParent();
        if (!fn?.node.generator || !hasYield(path.get('body'))) return;
        // for (const x of E) body  ->  for (let $a = $rt.arr(E), $i = 0; $i < $a.length; $i++) { const x = $a[$i]; body }
        const a = path.scope.generateUidIdentifier('arr');
        const i = path.scope.generateUidIdentifier('i');
        const left = path.node.left;
        const decl =
          left.type === 'VariableDeclaration'
            ? t.variableDeclaration(left.kind, [t.variableDeclarator(left.declarations[0]!.id, t.memberExpression(a, i, true))])
            : t.expressionStatement(t.assignmentExpression('=', left, t.memberExpression(a, i, true)));
        const body = path.node.body.type === 'BlockStatement' ? path.node.body.body : [path.node.body];
        path.replaceWith(
          t.forStatement(
            t.variableDeclaration('let', [t.variableDeclarator(a, t.callExpression(rt('arr'), [path.node.right])), t.variableDeclarator(i, t.numericLiteral(0))]),
            t.binaryExpression('<', i, t.memberExpression(a, t.identifier('length'))),
            t.updateExpression('++', i),
            t.blockStatement([decl, ...body]),
          ),
        );
      },
      Function(path) {
        if (!path.node.generator) return;
        path.traverse({
          ThisExpression(p) {
            if (p.getFunctionParent() === path) throw new FrameCompileError(`${where(file, p.node)}: \`this\` in a generator is not supported in the model`);
          },
          Identifier(p) {
            if (p.node.name === 'arguments' && p.isReferencedIdentifier() && p.getFunctionParent() === path) {
              throw new FrameCompileError(`${where(file, p.node)}: \`arguments\` in a generator is not supported in the model`);
            }
          },
          TryStatement(p) {
            if (p.getFunctionParent() === path && hasYield(p)) throw new FrameCompileError(`${where(file, p.node)}: try/catch/finally around a yield is not supported in the model (write the unlock on each path, as the C code's goto does)`);
          },
        });
      },
    },
  };
}

let nextFnId = 1;

/** Pass 3 (after regenerator): locals into the frame context, Babel's runtime replaced by ours. */
function framesPlugin(file: string, { types: t }: { types: typeof T }): PluginObj {
  const rt = (name: string) => t.memberExpression(t.identifier(RT), t.identifier(name));
  const isRegen = (n: T.Node, prop: 'w' | 'm'): boolean =>
    n.type === 'CallExpression' &&
    n.callee.type === 'MemberExpression' &&
    n.callee.property.type === 'Identifier' &&
    n.callee.property.name === prop &&
    n.callee.object.type === 'CallExpression' &&
    n.callee.object.callee.type === 'Identifier' &&
    n.callee.object.callee.name === '_regenerator';
  return {
    visitor: {
      Program(prog) {
        // First unwrap _regeneratorValues(x) and _regenerator().m(f), so the bindings are fresh.
        prog.traverse({
          CallExpression: {
            exit(path) {
              const n = path.node;
              if ((n.callee.type === 'Identifier' && n.callee.name === '_regeneratorValues') || isRegen(n, 'm')) path.replaceWith(n.arguments[0] as T.Expression);
            },
          },
        });
        prog.scope.crawl();
      },
      CallExpression: {
        exit(path) {
          const n = path.node;
          if (!isRegen(n, 'w')) return;
          const inner = n.arguments[0];
          if (inner?.type !== 'FunctionExpression') throw new FrameCompileError(`${where(file, n)}: unexpected regenerator output`);
          if (n.arguments.length > 3) throw new FrameCompileError(`${where(file, n)}: try/catch/finally in a generator is not supported in the model`);
          const ctxParam = inner.params[0];
          if (ctxParam?.type !== 'Identifier') throw new FrameCompileError(`${where(file, n)}: unexpected regenerator output (no context parameter)`);
          const outer = path.getFunctionParent();
          if (!outer) throw new FrameCompileError(`${where(file, n)}: regenerator output outside a function`);
          // The outer function's bindings: its parameters and the vars regenerator hoisted.
          const props: T.ObjectProperty[] = [];
          const names = new Set<string>();
          const chosen = new Map<string, unknown>();
          for (const [name, b] of Object.entries(outer.scope.bindings)) {
            if (b.kind !== 'param' && b.kind !== 'var' && b.kind !== 'let' && b.kind !== 'const') continue;
            if (b.kind !== 'param' && b.path.parentPath?.parentPath?.node !== outer.node.body) continue; // only the hoisted top-level declarations
            names.add(name);
            chosen.set(name, b);
            props.push(t.objectProperty(t.identifier(`$${name}`), b.kind === 'param' ? t.identifier(name) : t.identifier('undefined')));
          }
          const member = (name: string) => t.memberExpression(t.identifier(ctxParam.name), t.identifier(`$${name}`));
          (path.get('arguments.0') as NodePath).traverse({
            Identifier(p) {
              const name = p.node.name;
              const b = chosen.get(name);
              if (b === undefined || p.scope.getBinding(name) !== b) return;
              const parent = p.parent;
              if ((parent.type === 'MemberExpression' || parent.type === 'OptionalMemberExpression') && parent.property === p.node && !parent.computed) return;
              if ((parent.type === 'ObjectProperty' || parent.type === 'ObjectMethod' || parent.type === 'ClassProperty' || parent.type === 'ClassMethod') && parent.key === p.node && !parent.computed) {
                if (parent.type === 'ObjectProperty' && parent.shorthand) {
                  parent.shorthand = false;
                  parent.value = member(name);
                }
                return;
              }
              if (parent.type === 'LabeledStatement' || parent.type === 'BreakStatement' || parent.type === 'ContinueStatement') return;
              if ((parent.type === 'FunctionDeclaration' || parent.type === 'FunctionExpression' || parent.type === 'ClassDeclaration') && parent.id === p.node) return;
              if (parent.type === 'VariableDeclarator' && parent.id === p.node) {
                throw new FrameCompileError(`${where(file, p.node)}: unexpected declaration of ${name} inside a generator's state machine`);
              }
              p.replaceWith(member(name));
            },
          });
          // Drop the hoisted var declarations of the outer function (now frame fields).
          for (const st of outer.get('body').get('body') as NodePath[]) {
            if (st.isVariableDeclaration() && st.node.declarations.every((d) => d.id.type === 'Identifier' && names.has(d.id.name) && !d.init)) st.remove();
          }
          // _context.d(x, loc) / _context.a(type, x) -> $rt.d(_context, x, loc) / $rt.a(_context, type, x)
          path.get('arguments.0').traverse({
            CallExpression(cp) {
              const ce = cp.node.callee;
              if (ce.type !== 'MemberExpression' || ce.object.type !== 'Identifier' || ce.object.name !== ctxParam.name || ce.property.type !== 'Identifier') return;
              const m = ce.property.name;
              if (m.startsWith('$')) return; // a local holding a function
              if (m !== 'd' && m !== 'a') throw new FrameCompileError(`${where(file, cp.node)}: unsupported regenerator context call .${m}() (try/catch/finally?)`);
              cp.replaceWith(t.callExpression(rt(m), [t.identifier(ctxParam.name), ...(cp.node.arguments as T.Expression[])]));
            },
            Function(fp) {
              fp.skip();
            },
          });
          const head = [
            t.objectProperty(t.identifier('n'), t.numericLiteral(0)),
            t.objectProperty(t.identifier('v'), t.identifier('undefined')),
            t.objectProperty(t.identifier('_child'), t.nullLiteral()),
            t.objectProperty(t.identifier('_ret'), t.identifier('undefined')),
          ];
          path.replaceWith(t.callExpression(rt('w'), [inner, t.objectExpression([...head, ...props]), t.numericLiteral(nextFnId++)]));
        },
      },
      FunctionDeclaration(path) {
        const name = path.node.id?.name;
        if (name === '_regenerator' || name === '_regeneratorDefine' || name === '_regeneratorValues') path.remove();
      },
    },
  };
}

/**
 * Pass 4: which locals each compiled frame still needs at each point where it can be suspended,
 * so a state's fingerprint leaves the dead ones out (dead-variable reduction, as Spin does). The
 * state machine regenerator emits is `while (1) switch (ctx.n) { case K: ... }`; a frame is
 * suspended at a yield or a delegation with ctx.n = the case it resumes at, and the locals live
 * there are those some path from that case reads before writing them. The analysis is
 * conservative: a write counts only when it runs on every path through its case before any
 * branch (an assignment statement at the case's top level, or unconditionally inside one); a
 * local a nested function mentions is always live; a function whose state machine has another
 * shape, or whose context escapes, gets no table (everything live).
 */
function livenessPlugin(file: string, { types: t }: { types: typeof T }): PluginObj {
  const tables: T.Statement[] = [];
  const isRt = (n: T.Node, name: string): boolean =>
    (n.type === 'MemberExpression' && n.object.type === 'Identifier' && n.object.name === RT && n.property.type === 'Identifier' && n.property.name === name) || (n.type === 'Identifier' && n.name === name);
  return {
    visitor: {
      CallExpression(path) {
        const n = path.node;
        if (!isRt(n.callee, 'w') || n.arguments.length !== 3) return;
        const [sm, , idNode] = n.arguments;
        if (sm?.type !== 'FunctionExpression' || idNode?.type !== 'NumericLiteral' || sm.params[0]?.type !== 'Identifier') return;
        const { table, volatile } = liveTable(t, sm, (sm.params[0]).name);
        if (volatile) tables.push(t.expressionStatement(t.callExpression(t.memberExpression(t.identifier(RT), t.identifier('volatile')), [t.numericLiteral(idNode.value)])));
        if (!table) return;
        tables.push(
          t.expressionStatement(
            t.callExpression(t.memberExpression(t.identifier(RT), t.identifier('live')), [
              t.numericLiteral(idNode.value),
              t.objectExpression([...table].map(([k, names]) => t.objectProperty(t.numericLiteral(k), t.stringLiteral([...names].sort().join(' '))))),
            ]),
          ),
        );
      },
      Program: {
        exit(prog) {
          if (tables.length) prog.pushContainer('body', tables);
          void file;
        },
      },
    },
  };
}

/**
 * Resume point -> live locals (without their `$`), or null if the function is not analysable;
 * `volatile`: a nested function writes one of its locals (its context changes while it does not run).
 */
function liveTable(t: typeof T, sm: T.FunctionExpression, ctx: string): { table: Map<number, Set<string>> | null; volatile: boolean } {
  const local0 = (m: T.Node): boolean => m.type === 'MemberExpression' && m.object.type === 'Identifier' && m.object.name === ctx;
  let volatile = false;
  t.traverseFast(sm.body, (x) => {
    if ((x.type === 'FunctionExpression' || x.type === 'ArrowFunctionExpression' || x.type === 'FunctionDeclaration' || x.type === 'ObjectMethod' || x.type === 'ClassMethod') && x !== sm)
      t.traverseFast(x, (y) => {
        if ((y.type === 'AssignmentExpression' && local0(y.left)) || (y.type === 'UpdateExpression' && local0(y.argument))) volatile = true;
      });
  });
  const table = volatile ? null : liveTableOf(t, sm, ctx);
  return { table, volatile };
}

function liveTableOf(t: typeof T, sm: T.FunctionExpression, ctx: string): Map<number, Set<string>> | null {
  const body = sm.body.body;
  if (body.length !== 1) return null;
  const loop = body[0]!;
  if (loop.type !== 'WhileStatement' || loop.body.type !== 'SwitchStatement') return null;
  const sw = loop.body;
  if (sw.discriminant.type !== 'MemberExpression' || sw.discriminant.object.type !== 'Identifier' || sw.discriminant.object.name !== ctx) return null;
  const labels: number[] = [];
  for (const c of sw.cases) {
    if (c.test?.type !== 'NumericLiteral') return null;
    labels.push(c.test.value);
  }
  const local = (m: T.Node): string | null =>
    m.type === 'MemberExpression' && !m.computed && m.object.type === 'Identifier' && m.object.name === ctx && m.property.type === 'Identifier' && m.property.name.startsWith('$') ? m.property.name.slice(1) : null;
  const isCtx = (m: T.Node): boolean => m.type === 'Identifier' && m.name === ctx;
  const pinned = new Set<string>();
  let escapes = false;
  const uses: Set<string>[] = [];
  const succ: [number, Set<string>][][] = [];

  /** Mentions of locals inside a nested function: always live. A bare use of the context escapes. */
  const scanNested = (node: T.Node): void => {
    t.traverseFast(node, (x) => {
      const l = local(x);
      if (l) pinned.add(l);
    });
  };

  for (let ci = 0; ci < sw.cases.length; ci++) {
    const use = new Set<string>();
    // Successors, each with what is written on every path to the jump (killed there).
    const next: [number, Set<string>][] = [[labels[ci]!, new Set()]];
    /** Visit in evaluation order; `defined`: written on every path so far (mutated only when unconditional). */
    const expr = (x: T.Node | null | undefined, defined: Set<string>): void => {
      if (!x) return;
      const l = local(x);
      if (l) {
        if (!defined.has(l)) use.add(l);
        return;
      }
      switch (x.type) {
        case 'FunctionExpression':
        case 'ArrowFunctionExpression':
        case 'FunctionDeclaration':
        case 'ClassExpression':
        case 'ObjectMethod':
          scanNested(x);
          return;
        case 'Identifier':
          if (x.name === ctx) escapes = true;
          return;
        case 'MemberExpression':
          if (isCtx(x.object)) return; // ctx.n, ctx.v, ...
          expr(x.object, defined);
          if (x.computed) expr(x.property, defined);
          return;
        case 'OptionalMemberExpression':
          expr(x.object, defined);
          if (x.computed) expr(x.property, defined);
          return;
        case 'CallExpression':
        case 'NewExpression': {
          const args = x.arguments;
          if (x.type === 'CallExpression' && args[0] && isCtx(args[0])) {
            // $rt.d(ctx, child, loc) / $rt.a(ctx, type, arg): the context is passed to the runtime only
            expr(x.callee, defined);
            for (const a of args.slice(1)) expr(a, defined);
            const last = args[args.length - 1];
            if (args.length === 3 && last?.type === 'NumericLiteral') next.push([last.value, new Set(defined)]);
            return;
          }
          expr(x.callee, defined);
          for (const a of args) expr(a, defined);
          return;
        }
        case 'AssignmentExpression': {
          if (x.left.type === 'MemberExpression' && isCtx(x.left.object) && !x.left.computed && x.left.property.type === 'Identifier' && x.left.property.name === 'n') {
            if (x.right.type !== 'NumericLiteral') escapes = true; // a computed jump: no table
            else next.push([x.right.value, new Set(defined)]);
            return;
          }
          const target = local(x.left);
          if (target) {
            if (x.operator !== '=' && !defined.has(target)) use.add(target);
            expr(x.right, defined);
            defined.add(target);
            return;
          }
          expr(x.left, defined);
          expr(x.right, defined);
          return;
        }
        case 'UpdateExpression': {
          const target = local(x.argument);
          if (target) {
            if (!defined.has(target)) use.add(target);
            defined.add(target);
            return;
          }
          expr(x.argument, defined);
          return;
        }
        case 'LogicalExpression':
          expr(x.left, defined);
          expr(x.right, new Set(defined));
          return;
        case 'ConditionalExpression':
          expr(x.test, defined);
          expr(x.consequent, new Set(defined));
          expr(x.alternate, new Set(defined));
          return;
        default: {
          // Anything else: children in source order (their evaluation order for the node types
          // regenerator emits: binary, unary, sequence, array, object, template, spread, ...).
          for (const key of t.VISITOR_KEYS[x.type] ?? []) {
            const child = (x as unknown as Record<string, unknown>)[key];
            if (Array.isArray(child)) for (const c of child) expr(c as T.Node | null, defined);
            else if (child && typeof child === 'object' && 'type' in (child)) expr(child as T.Node, defined);
          }
        }
      }
    };
    const stmt = (x: T.Statement, defined: Set<string>): void => {
      switch (x.type) {
        case 'ExpressionStatement':
          expr(x.expression, defined);
          return;
        case 'ReturnStatement':
        case 'ThrowStatement':
          expr(x.argument, defined);
          return;
        case 'IfStatement':
          expr(x.test, defined);
          stmt(x.consequent, new Set(defined));
          if (x.alternate) stmt(x.alternate, new Set(defined));
          return;
        case 'BlockStatement':
          for (const y of x.body) stmt(y, defined);
          return;
        case 'BreakStatement':
        case 'ContinueStatement':
        case 'EmptyStatement':
          return;
        case 'VariableDeclaration':
          for (const d of x.declarations) expr(d.init, defined);
          return;
        default: {
          // Loops, switches, labelled statements: everything they read counts, nothing they write.
          const inner = new Set(defined);
          for (const key of t.VISITOR_KEYS[x.type] ?? []) {
            const child = (x as unknown as Record<string, unknown>)[key];
            const list = Array.isArray(child) ? child : [child];
            for (const c of list) {
              if (!c || typeof c !== 'object' || !('type' in (c as object))) continue;
              const node = c as T.Node;
              if (t.isStatement(node)) stmt(node, new Set(inner));
              else if (node.type === 'SwitchCase') for (const y of node.consequent) stmt(y, new Set(inner));
              else expr(node, new Set(inner));
            }
          }
        }
      }
    };
    const c = sw.cases[ci]!;
    const defined = new Set<string>();
    for (const x of c.consequent) stmt(x, defined);
    const last = c.consequent[c.consequent.length - 1];
    if (ci + 1 < sw.cases.length && !(last && (last.type === 'ReturnStatement' || last.type === 'BreakStatement' || last.type === 'ThrowStatement'))) next.push([labels[ci + 1]!, new Set(defined)]);
    uses.push(use);
    succ.push(next);
  }
  if (escapes) return null;
  // Fixpoint: live-in(K) = uses(K) + for each jump from K, (live-in of its target - what is always written before it).
  const index = new Map(labels.map((k, i) => [k, i]));
  const live = uses.map((u) => new Set(u));
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = live.length - 1; i >= 0; i--) {
      for (const [k, killed] of succ[i]!) {
        const j = index.get(k);
        if (j === undefined) return null; // a jump to a label the switch does not have
        for (const v of live[j]!) {
          if (killed.has(v) || live[i]!.has(v)) continue;
          live[i]!.add(v);
          changed = true;
        }
      }
    }
  }
  const out = new Map<number, Set<string>>();
  for (let i = 0; i < labels.length; i++) out.set(labels[i]!, new Set([...live[i]!, ...pinned]));
  return out;
}

const babelOpts = (file: string) => ({ filename: file, babelrc: false, configFile: false, sourceMaps: false as const, compact: false, retainLines: false });

/**
 * Compile one model source file (TypeScript) for the stateful explorer. `runtime` is the module
 * specifier the output imports the runtime from (sim/frames.ts).
 */
export function compileFrames(file: string, source: string, runtime: string): string {
  const { transformSync } = babel();
  const p1 = transformSync(source, {
    ...babelOpts(file),
    plugins: [[require.resolve('@babel/plugin-transform-typescript'), { onlyRemoveTypeImports: true, allowDeclareFields: true }], (api: { types: typeof T }) => barrierPlugin(file, api)],
  })?.code;
  if (p1 == null) throw new FrameCompileError(`${file}: no output`);
  const p2 = transformSync(p1, {
    ...babelOpts(file),
    plugins: [
      require.resolve('@babel/plugin-transform-nullish-coalescing-operator'),
      require.resolve('@babel/plugin-transform-optional-chaining'),
      require.resolve('@babel/plugin-transform-destructuring'),
      require.resolve('@babel/plugin-transform-block-scoping'),
      [require.resolve('@babel/plugin-transform-regenerator'), { asyncGenerators: false, generators: true, async: false }]],
  })?.code;
  if (p2 == null) throw new FrameCompileError(`${file}: no output`);
  const p3 = transformSync(p2, { ...babelOpts(file), plugins: [(api: { types: typeof T }) => framesPlugin(file, api)] })?.code;
  if (p3 == null) throw new FrameCompileError(`${file}: no output`);
  const p4 = transformSync(p3, { ...babelOpts(file), plugins: [(api: { types: typeof T }) => livenessPlugin(file, api)] })?.code;
  if (p4 == null) throw new FrameCompileError(`${file}: no output`);
  return `import * as ${RT} from ${JSON.stringify(runtime)};\n${p4}`;
}
