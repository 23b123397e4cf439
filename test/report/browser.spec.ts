/*
 * The HTML report in a real browser: Debian's Chromium (/usr/bin/chromium, installed by
 * scripts/ensure-chromium.sh in `npm test`'s pretest) driven by playwright-core. The report is
 * generated for real by the CLI from example 09 on v7 and 6.5 (arm64), where v7's GUP-fast reads
 * folio->mapping of a page that was freed and handed to a new owner.
 *
 * There is no skip: if Chromium is missing or cannot start, these tests fail and say why.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReport, type ReportRun } from '../../src/report/html.ts';
import type { Trace } from '../../src/trace/schema.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ARTIFACTS = join(ROOT, 'test', 'artifacts');
const CHROMIUM = process.env.GUPCHECK_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

let tmp: string;
let reportPath: string;
let v7Trace: Trace;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const external: string[] = [];
/** Why the report or the browser could not be set up: every test then fails with it (none is skipped). */
let setupError: Error | undefined;
const pageErrors: string[] = [];

async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}. Run 'bash scripts/ensure-chromium.sh' (npm test runs it in pretest), or set GUPCHECK_CHROMIUM.`);
  }
  try {
    return await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 45_000 });
  } catch (e) {
    throw new Error(`Chromium at ${CHROMIUM} failed to start: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

async function newPage(): Promise<Page> {
  const p = await context.newPage();
  p.on('pageerror', (e) => pageErrors.push(e.message));
  p.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  return p;
}

/** Throw the set-up failure, if any, so that each test fails with the reason. */
function ready(): void {
  if (setupError !== undefined) throw setupError;
}

async function setUp(): Promise<void> {
  tmp = mkdtempSync(join(tmpdir(), 'gupcheck-report-'));
  reportPath = join(tmp, 'r.html');
  const run = spawnSync(
    process.execPath,
    ['bin/gupcheck.mjs', 'check', 'examples/09-fast-pin-vs-unmap-reuse.yaml', '--kernel', 'v7,6.5', '--arch', 'arm64', '--report', reportPath, '--out', join(tmp, 'out'), '--no-progress'],
    { cwd: ROOT, encoding: 'utf8', timeout: 90_000 },
  );
  if (run.status !== 0) throw new Error(`gupcheck check exited ${run.status}:\n${run.stdout}\n${run.stderr}`);
  const traceFile = readdirSync(join(tmp, 'out')).find((f) => f.includes('.v7.arm64.wild-deref.'));
  if (!traceFile) throw new Error(`no v7/arm64 wild-deref trace in ${join(tmp, 'out')}`);
  v7Trace = JSON.parse(readFileSync(join(tmp, 'out', traceFile), 'utf8')) as Trace;

  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // The report must work offline: anything that is not the file itself is refused and recorded.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
    external.push(url);
    return route.abort();
  });
  page = await newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(pathToFileURL(reportPath).href);
  mkdirSync(ARTIFACTS, { recursive: true });
}

beforeAll(async () => {
  try {
    await setUp();
  } catch (e) {
    setupError = e instanceof Error ? e : new Error(String(e));
  }
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the HTML report of example 09 (v7 and 6.5 on arm64) in Chromium', () => {
  it('is one self-contained file: data, script and styles inline, no network requests, no page errors', async () => {
    ready();
    const html = readFileSync(reportPath, 'utf8');
    expect(html).toContain('<script type="application/json" id="gupcheck-data">');
    expect(html).toContain('<script id="gupcheck-viewer">');
    expect(html).not.toMatch(/<script[^>]+\bsrc=|<link[^>]+\bhref=|@import/i);
    await expect.poll(() => page.locator('#matrix').count()).toBe(1);
    expect(external).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('its header shows the command that produced it, with the --kernel and --arch it was given', async () => {
    ready();
    const cmd = await page.locator('header.top .command code').innerText();
    expect(cmd).toBe(`gupcheck check examples/09-fast-pin-vs-unmap-reuse.yaml --kernel v7,6.5 --arch arm64 --out ${join(tmp, 'out')} --report ${reportPath} --no-progress`);
    expect(await page.locator('#summary').innerText()).toMatch(/^3\/3 runs as expected \(2 with the findings expected, 1 with no finding\)/);
  });

  it('states what the model does not cover', async () => {
    ready();
    const limits = page.locator('#limits');
    await expect.poll(() => limits.isVisible()).toBe(true);
    const text = await limits.innerText();
    expect(text).toContain('What the model does not cover');
    expect(text).toContain('Sequentially consistent interleavings only');
    expect(await limits.locator('li').count()).toBe(v7Trace.model.notCovered.length);
  });

  it('shows the verdict matrix: the wild-deref finding on v7/arm64, and 6.5/arm64 clean with a complete search', async () => {
    ready();
    const row = page.locator('#matrix tbody tr[data-scenario="fast-pin-vs-unmap-reuse"][data-mutant=""]');
    const v7 = row.locator('td[data-kernel="v7"][data-arch="arm64"]');
    const v65 = row.locator('td[data-kernel="6.5"][data-arch="arm64"]');
    expect(await v7.getAttribute('class')).toMatch(/\bholds\b.*\bhas-findings\b/);
    // The verdict is about the expectations, the finding beside it about the kernel (issue 16).
    expect(await v7.locator('.verdict').innerText()).toBe('✓ as expected');
    expect(await v65.locator('.verdict').innerText()).toBe('✓ as expected');
    expect(await v7.locator('button[data-finding="wild-deref"]').innerText()).toMatch(/^wild-deref ×\d+$/);
    expect(await v7.innerText()).toMatch(/\d+ execs · complete/);
    expect(await v65.getAttribute('class')).not.toMatch(/has-findings/);
    expect(await v65.locator('.clean').innerText()).toBe('no finding');
    expect(await v65.innerText()).toMatch(/\d+ execs · complete/);
    // The mutant run of the same scenario gets its own row.
    expect(await page.locator('#matrix tbody tr[data-mutant="check-before-recheck"]').count()).toBe(1);
  });

  it('diffs the revisions: wild-deref is reachable in v7 and not in 6.5, with its trace', async () => {
    ready();
    expect(await page.locator('#diff-scenario').inputValue()).toBe('fast-pin-vs-unmap-reuse');
    expect(await page.locator('#diff-a').inputValue()).toBe('v7');
    expect(await page.locator('#diff-b').inputValue()).toBe('6.5');
    const onlyV7 = page.locator('#diff-body .diff-arch[data-arch="arm64"] .diff-side[data-only="v7"]');
    const item = onlyV7.locator('.diff-item[data-kind="finding"][data-what="wild-deref"]');
    expect(await item.count()).toBe(1);
    expect(await item.locator('button.open-trace').count()).toBe(1);
    const only65 = page.locator('#diff-body .diff-arch[data-arch="arm64"] .diff-side[data-only="6.5"]');
    expect(await only65.locator('.diff-item[data-kind="finding"]').count()).toBe(0);
    // Swapping the revisions swaps the sides.
    await page.locator('#diff-swap').click();
    expect(await page.locator('#diff-a').inputValue()).toBe('6.5');
    expect(await page.locator('#diff-body .diff-side[data-only="6.5"] .diff-item[data-kind="finding"]').count()).toBe(0);
    await page.locator('#diff-swap').click();
    await page.screenshot({ path: join(ARTIFACTS, 'report-overview.png'), fullPage: true });
  });

  it('steps through the v7 trace by click and ←/→: the page goes to a new owner, then GUP-fast dereferences its mapping', async () => {
    ready();
    await page.locator('#matrix td[data-kernel="v7"][data-arch="arm64"] button[data-finding="wild-deref"]').first().click();
    await page.locator('.trace-view').waitFor();
    expect(await page.locator('.trace-head h1').innerText()).toContain('wild-deref');
    // One lane per CPU, one SVG step per trace step.
    expect(await page.locator('.lane-head[data-lane]').allInnerTexts()).toEqual(v7Trace.cpus);
    const steps = page.locator('#timeline g.step');
    expect(await steps.count()).toBe(v7Trace.steps.length);
    // The timeline is laid out at the page's real width, lanes side by side.
    const laneX = await page.locator('.lane-head[data-lane]').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().x));
    expect(laneX).toEqual([...laneX].sort((a, b) => a - b));

    await steps.nth(0).click();
    expect(await page.locator('#step-detail').getAttribute('data-step')).toBe('0');

    const n = v7Trace.steps.length;
    let free = -1;
    let reuse = -1;
    let allocNote = -1;
    let deref = -1;
    let firstOwner = '';
    for (let i = 0; i < n; i++) {
      if (i > 0) await page.keyboard.press('ArrowRight');
      const detail = page.locator('#step-detail');
      expect(await detail.getAttribute('data-step')).toBe(String(i));
      // Exactly the selected step is highlighted in the SVG.
      expect(await page.locator('#timeline g.step.selected').count()).toBe(1);
      expect(await page.locator('#timeline g.step.selected').getAttribute('data-step')).toBe(String(i));
      expect(await page.locator('#step-counter').innerText()).toBe(`step ${i + 1} / ${n}`);
      const folio = page.locator('#state-panel table.folio[data-pfn="17"]');
      const owner = folio.locator('tr[data-field="owner"] td');
      const ownerText = await owner.locator('.v').innerText();
      const status = await folio.getAttribute('data-status');
      if (i === 0) firstOwner = ownerText;
      if (free < 0 && status === 'free') {
        // Freed: the page is on the free list, its last owner still named.
        free = i;
        expect(await folio.locator('caption').innerText()).toMatch(/folio@pfn17 free\s*freed/);
        expect(await folio.locator('tr[data-field="last owner"] td').innerText()).toBe(`${firstOwner} (gen 1)`);
      }
      if (reuse < 0 && status === 'live' && ownerText !== firstOwner) {
        // The reuse: taken off the free list for a new owner, the change highlighted against the old owner.
        reuse = i;
        expect(await folio.locator('caption .tag').innerText()).toBe('reused: new owner');
        expect(await owner.getAttribute('class')).toContain('changed');
        expect(await owner.locator('.was').innerText()).toBe(`was ${firstOwner}`);
        expect(await folio.locator('tr[data-field="gen"] td').innerText()).toMatch(/^2\s+was 1$/);
      }
      if (allocNote < 0 && /folio@pfn17 allocated \(reuses a freed page\)/.test(await detail.innerText())) {
        allocNote = i;
        expect(await page.locator('#timeline g.step.selected').getAttribute('class')).toMatch(/\bkey\b/);
      }
      if ((await page.locator('#finding-box').count()) > 0) {
        expect(deref).toBe(-1);
        deref = i;
        expect(await page.locator('#finding-box').innerText()).toMatch(/^wild-deref: .*dereferenced mapping/);
        expect(await page.locator('#timeline g.step.selected').getAttribute('class')).toMatch(/\bbad\b/);
        // GUP-fast's reference went onto the new owner's page.
        expect(ownerText).not.toBe(firstOwner);
      }
    }
    expect(free).toBeGreaterThan(0);
    expect(reuse).toBeGreaterThan(free);
    expect(allocNote).toBeGreaterThanOrEqual(reuse);
    expect(deref).toBe(v7Trace.finding?.step);
    expect(allocNote).toBeLessThan(deref);
    // At the dereference, CPU0 (GUP-fast) still has IRQs off: it never left its critical section.
    expect(await page.locator('#state-panel table.cpus tr[data-cpu="CPU0"] td[data-field="IRQs"]').innerText()).toBe('off');

    // ← goes back one step; → at the end stays there; clicking a step selects it.
    await page.keyboard.press('ArrowRight');
    expect(await page.locator('#step-detail').getAttribute('data-step')).toBe(String(n - 1));
    await page.keyboard.press('ArrowLeft');
    expect(await page.locator('#step-detail').getAttribute('data-step')).toBe(String(n - 2));
    await page.keyboard.press('ArrowLeft');
    expect(await page.locator('#step-detail').getAttribute('data-step')).toBe(String(n - 3));
    await steps.nth(reuse).click();
    expect(await page.locator('#step-detail').getAttribute('data-step')).toBe(String(reuse));
    // The refcount the new owner set is highlighted against the step before (0 on the free list).
    await steps.nth(allocNote).click();
    expect(await page.locator('#step-detail').getAttribute('data-step')).toBe(String(allocNote));
    const ref = page.locator('#state-panel table.folio[data-pfn="17"] tr[data-field="_refcount"] td');
    expect(await ref.getAttribute('class')).toContain('changed');
    expect(await ref.innerText()).toMatch(/^1\s+was 0$/);
    expect(page.url()).toMatch(new RegExp(`#trace=\\d+&step=${allocNote}$`));
    await page.screenshot({ path: join(ARTIFACTS, 'report-v7-arm64-reuse-step.png') });

    // The screenshot shows the race's end: the reuse on CPU2, then CPU0's dereference selected.
    await steps.nth(deref).click();
    await page.screenshot({ path: join(ARTIFACTS, 'report-v7-arm64-trace.png') });
    expect(pageErrors).toEqual([]);
  });

  it('shows only the key steps on K: PTE read, zap, free, reuse, reference, dereference, in order', async () => {
    ready();
    const total = v7Trace.steps.length;
    await page.keyboard.press('k');
    expect(await page.locator('#key-only').isChecked()).toBe(true);
    const shown = await page.locator('#timeline g.step').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-step'))));
    expect(shown.length).toBeGreaterThanOrEqual(6);
    expect(shown.length).toBeLessThan(total / 2);
    expect(shown).toEqual([...shown].sort((a, b) => a - b));
    expect(await page.locator('#timeline .hidden-steps').count()).toBeGreaterThan(0);
    // The selected dereference stays selected; Home goes to the first key step, → walks them.
    expect(await page.locator('#timeline g.step.selected').getAttribute('data-step')).toBe(String(v7Trace.finding?.step));
    await page.keyboard.press('Home');
    const story: string[] = [];
    for (let k = 0; k < shown.length; k++) {
      if (k > 0) await page.keyboard.press('ArrowRight');
      expect(await page.locator('#step-detail').getAttribute('data-step')).toBe(String(shown[k]));
      expect(await page.locator('#step-counter').innerText()).toBe(`key step ${k + 1} / ${shown.length}`);
      story.push(await page.locator('#step-detail').innerText());
    }
    const at = (re: RegExp): number => story.findIndex((x) => re.test(x));
    const read = at(/ptep_get_lockless/);
    const zap = at(/PTE for 0x7f0000000000 cleared/);
    const freed = at(/folio@pfn17 freed \(back on the free list\)/);
    const reused = at(/folio@pfn17 allocated \(reuses a freed page\)/);
    const ref = at(/folio_ref_try_add_rcu/);
    const deref = at(/wild-deref: /);
    expect([read, zap, freed, reused, ref, deref].every((x) => x >= 0)).toBe(true);
    expect([read, zap, freed, reused, ref, deref]).toEqual([read, zap, freed, reused, ref, deref].sort((a, b) => a - b));
    expect(deref).toBe(shown.length - 1);
    await page.screenshot({ path: join(ARTIFACTS, 'report-v7-arm64-key-steps.png') });
    // Clicking a hidden step's neighbour and K again brings every step back.
    await page.keyboard.press('k');
    expect(await page.locator('#timeline g.step').count()).toBe(total);
    expect(await page.locator('#timeline g.step.selected').getAttribute('data-step')).toBe(String(v7Trace.finding?.step));
  });

  it('copies the replay command with the copy button', async () => {
    ready();
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    expect(await page.locator('#replay-cmd').innerText()).toBe(v7Trace.command);
    await page.locator('#copy-replay').click();
    await expect.poll(() => page.locator('#copy-status').innerText()).toBe('copied');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(v7Trace.command);
  });

  it('goes back to the overview with Esc, and reopens the same step from the URL', async () => {
    ready();
    const url = page.url();
    await page.keyboard.press('Escape');
    await page.locator('#matrix').waitFor();
    expect(await page.locator('.trace-view').count()).toBe(0);
    await page.goto(url);
    await page.locator('.trace-view').waitFor();
    expect(await page.locator('#step-detail').getAttribute('data-step')).toBe(String(v7Trace.finding?.step));
  });
});

describe('what the report says of its searches', () => {
  /** `gupcheck check --json` for real, its results as the report gets them. */
  function checkJson(args: string[]): ReportRun[] {
    const r = spawnSync(process.execPath, ['bin/gupcheck.mjs', 'check', ...args, '--json', '--no-progress', '--out', join(tmp, 'out-search')], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`gupcheck check ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
    return (JSON.parse(r.stdout) as { results: ReportRun[] }).results;
  }

  it('shows the states stored, the runs moved to the stateful search, and why a search stopped early', async () => {
    ready();
    // Example 10's THP split on arm64 is the bundled run the default moves to the stateful search;
    // example 09 with a bound of 50 DPOR executions stops early.
    const runs = [
      ...checkJson(['examples/10-fast-pin-vs-thp-split.yaml', '--kernel', '6.5', '--arch', 'arm64']),
      ...checkJson(['examples/09-fast-pin-vs-unmap-reuse.yaml', '--kernel', '6.5', '--arch', 'x86', '--strategy', 'dpor', '--max-executions', '50']),
    ];
    const moved = runs.filter((r) => r.dporFirst != null);
    expect(moved.length).toBeGreaterThan(0);
    const path = join(tmp, 'search.html');
    writeFileSync(path, renderReport(runs, [], { interrupted: false, command: 'gupcheck check (two commands)' }));
    const p = await newPage();
    await p.goto(pathToFileURL(path).href);
    await p.locator('#matrix').waitFor();

    const thp = p.locator('#matrix tbody tr[data-scenario="fast-pin-vs-thp-split"][data-mutant=""] td[data-kernel="6.5"][data-arch="arm64"] .execs');
    const states = runs.find((r) => r.scenario === 'fast-pin-vs-thp-split' && r.mutant === null)!.states!;
    expect(await thp.innerText()).toMatch(new RegExp(`execs · complete\\s+${states.toLocaleString('en-US')} states \\(moved\\)$`));
    expect(await thp.getAttribute('title')).toContain('search: stateful, after 2,000 DPOR executions had not finished it');

    const notes = p.locator('#search-notes');
    expect(await notes.locator('.moved').innerText()).toMatch(new RegExp(`^${moved.length} runs? moved to the stateful search after 2,000 DPOR executions.*: fast-pin-vs-thp-split 6\\.5/arm64`));
    const stopped = await notes.locator('.stopped li').allInnerTexts();
    expect(stopped).toEqual(['fast-pin-vs-unmap-reuse 6.5/x86: stopped after --max-executions 50 executions; raise it to explore further', ...stopped.slice(1)]);
    expect(stopped.every((t) => t.startsWith('fast-pin-vs-unmap-reuse 6.5/x86'))).toBe(true);
    expect(await notes.locator('.collisions').innerText()).toMatch(/^Stateful search: 64-bit state fingerprints; the chance of a collision among the [\d,]+ states of the largest run/);
    // The report of example 09 (every search plain DPOR, complete) has no such notes.
    expect(await page.locator('#search-notes').count()).toBe(0);
    expect(pageErrors).toEqual([]);
    await p.close();
  }, 120_000);
});

describe('trace text in the report is data, never markup', () => {
  it('shows hostile strings from a trace as text and runs none of them', async () => {
    ready();
    const evil = `</script><img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`;
    const t: Trace = {
      ...v7Trace,
      finding: v7Trace.finding && { ...v7Trace.finding, message: `msg ${evil}` },
      steps: v7Trace.steps.map((s, i) => (i === 0 ? { ...s, action: `act ${evil}`, notes: [`note ${evil}`] } : s)),
    };
    const run: ReportRun = {
      scenario: t.scenario,
      kernel: t.kernel,
      arch: t.arch,
      mutant: null,
      verdict: 'holds',
      executions: 1,
      complete: true,
      limit: null,
      findings: [{ id: 'wild-deref', executions: 1, replay: t.replay, expected: true, message: `msg ${evil}` }],
      outcomes: { CPU0: { [`o ${evil}`]: 1 } },
      expectations: [{ expect: `e ${evil}`, holds: true, observed: 'x' }],
    };
    const path = join(tmp, 'evil.html');
    writeFileSync(path, renderReport([run], [t], { interrupted: false, command: `cmd ${evil}` }));
    const p = await newPage();
    await p.goto(`${pathToFileURL(path).href}#trace=0&step=0`);
    await p.locator('#step-detail').waitFor();
    expect(await p.locator('#step-detail .action').innerText()).toBe(`act ${evil}`);
    expect(await p.locator('#step-detail .notes').innerText()).toBe(`note ${evil}`);
    expect(await p.locator('.trace-head h1').innerText()).toContain(`msg ${evil}`);
    await p.keyboard.press('Escape');
    await p.locator('#matrix').waitFor();
    expect(await p.locator('header.top .command').innerText()).toContain(`cmd ${evil}`);
    expect(await p.locator('img').count()).toBe(0);
    expect(await p.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    await p.close();
  });
});
