/**
 * The Temporal Web UI as an operator sees it: `s3-campaigns dev` as a subprocess (its own servers, ports and folder),
 * and Debian's Chromium driven by puppeteer-core (never a downloaded browser). Used by the UI test and by
 * `npm run ui:screenshots`, which regenerates the README's screenshots from the same steps.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';

import puppeteer, { type Browser, type Frame, type Page } from 'puppeteer-core';

import type { StackEndpoints } from '../../src/stack';
import { freePort } from '../../src/stack/process';
import { CLI_BIN } from './cli';

/** The browser: `S3C_CHROMIUM`, else Debian's `chromium` package. */
export const CHROMIUM = process.env.S3C_CHROMIUM ?? '/usr/bin/chromium';
/** The window the issue asks the UI to fit: 1400 pixels wide. */
export const VIEWPORT = { width: 1400, height: 900 } as const;
/** Waits for the UI: its first load compiles nothing, but a loaded machine can be slow. */
export const UI_TIMEOUT_MS = 60_000;

/**
 * The few browser globals the code that runs in the page uses: this project compiles without the DOM lib, so that
 * Node code cannot use browser globals by mistake. Functions passed to `evaluate` cast `globalThis` to this.
 */
interface InPage {
  document: { body: InPageElement | null; querySelectorAll(selector: string): Iterable<InPageElement> };
  localStorage: { getItem(key: string): string | null };
}
interface InPageElement {
  innerText: string;
  textContent: string | null;
  tagName: string;
  clientWidth: number;
  scrollWidth: number;
  clientHeight: number;
  scrollHeight: number;
  scrollTop: number;
}

/** The visible text of a page or frame. */
export async function textOf(target: Page | Frame): Promise<string> {
  return await target.evaluate(() => (globalThis as unknown as InPage).document.body?.innerText ?? '');
}

/** The text of each row of the workflow list, whitespace collapsed. */
export async function listRows(page: Page): Promise<string[]> {
  return await page.evaluate(() =>
    [
      ...(globalThis as unknown as InPage).document.querySelectorAll(
        '[data-testid=workflows-summary-configurable-table-row]',
      ),
    ].map((tr) => tr.innerText.replace(/\s+/g, ' ')),
  );
}

/** The saved views of the workflow list that this browser keeps, by namespace. */
export async function savedViews(page: Page): Promise<Record<string, Array<{ name: string; query: string }>>> {
  const json = await page.evaluate(() =>
    (globalThis as unknown as InPage).localStorage.getItem('saved-workflow-queries'),
  );
  return JSON.parse(json ?? '{}') as Record<string, Array<{ name: string; query: string }>>;
}

export interface DevProcess {
  endpoints: StackEndpoints & { temporalUiUrl: string };
  dir: string;
  output(): string;
  stop(): Promise<void>;
}

/** Starts `s3-campaigns dev` (no demo) on free ports in a fresh folder; resolves once it says it is up. */
export async function startDev(): Promise<DevProcess> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 's3c-ui-'));
  const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const flags = ['--temporal-port', '--ui-port', '--s3-port', '--engine-port'];
  const args = [CLI_BIN, 'dev', '--dir', dir, ...flags.flatMap((f, i) => [f, String(ports[i])])];
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(process.execPath, args, {
    env: { ...process.env, S3C_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (out.includes('Press Ctrl-C to stop.')) resolve();
      };
      child.stdout.on('data', check);
      void exited.then(() => reject(new Error(`dev exited before it was up:\n${out}`)));
    });
    const endpoints = JSON.parse(readFileSync(path.join(dir, 'endpoints.json'), 'utf8')) as StackEndpoints;
    if (!endpoints.temporalUiUrl) throw new Error(`dev started without its Web UI:\n${out}`);
    return { endpoints: { ...endpoints, temporalUiUrl: endpoints.temporalUiUrl }, dir, output: () => out, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Headless Chromium with a 1400×900 window. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) or set S3C_CHROMIUM`);
  }
  return await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      // Root in a container has no user namespaces for Chromium's sandbox; the pages are our own local UI.
      '--no-sandbox',
      // No calls home: this machine's network is closed, and refused connections only slow Chromium down.
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-gpu',
      `--window-size=${VIEWPORT.width},${VIEWPORT.height}`,
    ],
    defaultViewport: VIEWPORT,
  });
}

/**
 * A new page without CSS transitions and animations: a screenshot then shows a menu or drawer as it ends up, not
 * half faded in.
 */
export async function newPage(browser: Browser): Promise<Page> {
  const page = await browser.newPage();
  await page.evaluateOnNewDocument(() => {
    const doc = (globalThis as unknown as { document: { addEventListener(e: string, f: () => void): void } }).document;
    doc.addEventListener('DOMContentLoaded', () => {
      const d = (globalThis as unknown as { document: StyleDoc }).document;
      const style = d.createElement('style');
      style.textContent = '*, *::before, *::after { transition: none !important; animation: none !important; }';
      d.head.appendChild(style);
    });
  });
  return page;
}
interface StyleDoc {
  createElement(tag: 'style'): { textContent: string };
  head: { appendChild(node: unknown): void };
}

/** Scrolls the last element whose text contains `text` into view. */
export async function scrollToText(page: Page, text: string): Promise<void> {
  const els = await page.$$(`::-p-text(${text})`);
  const el = els[els.length - 1];
  if (!el) throw new Error(`nothing shows "${text}"`);
  await el.scrollIntoView();
}

/** Opens `url` and waits until `text` shows in the page (the UI renders after its API calls return). */
export async function openAndWaitForText(page: Page, url: string, text: string): Promise<void> {
  // Not `networkidle`: a running workflow's page long-polls its history and is never idle.
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: UI_TIMEOUT_MS });
  await waitForText(page, text);
}

export async function waitForText(page: Page | Frame, text: string): Promise<void> {
  await page.waitForFunction(
    (t: string) => (globalThis as unknown as InPage).document.body?.innerText.includes(t),
    { timeout: UI_TIMEOUT_MS },
    text,
  );
}

/** The workflow page of a run, on one of its tabs (`history`, `user-metadata`, …). */
export function workflowTabUrl(ui: string, namespace: string, workflowId: string, runId: string, tab: string): string {
  return `${ui}/namespaces/${namespace}/workflows/${encodeURIComponent(workflowId)}/${runId}/${tab}`;
}

/**
 * The User Metadata tab's markdown frame `id` (the UI renders summary, details and current details each in an
 * iframe of its own, `/render?content=…`) once it shows `text`. The UI replaces a frame when its content changes, so
 * this looks for the frame again until one shows the text.
 */
export async function metadataFrame(
  page: Page,
  id: 'summary' | 'details' | 'current-details',
  text: string,
): Promise<Frame> {
  const deadline = Date.now() + UI_TIMEOUT_MS;
  let last = '';
  for (;;) {
    try {
      const handle = await page.$(`iframe#user-metadata-${id}`);
      const frame = await handle?.contentFrame();
      if (frame) {
        last = await textOf(frame);
        if (last.includes(text)) return frame;
      }
    } catch {
      // Detached while we read it: the next one comes.
    }
    if (Date.now() > deadline) throw new Error(`the ${id} frame does not show "${text}"; it shows: ${last}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Elements of a frame wider than their box: text the reader cannot see without scrolling sideways. */
export async function clippedElements(frame: Frame): Promise<string[]> {
  return await frame.evaluate(() =>
    [...(globalThis as unknown as InPage).document.querySelectorAll('body, body *')]
      .filter((e) => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1)
      .map(
        (e) =>
          `<${e.tagName.toLowerCase()}> ${e.scrollWidth}px in ${e.clientWidth}px: ${(e.textContent ?? '').slice(0, 60)}`,
      ),
  );
}

/**
 * Clicks the first visible element matching `selector`: the UI renders its menus and dialogs twice (for narrow and
 * wide windows), one of them hidden. `dom` clicks without the mouse: for a button that moves when the mouse press
 * takes the focus from an editor that then reformats its text.
 */
export async function clickVisible(page: Page, selector: string, how: 'mouse' | 'dom' = 'mouse'): Promise<void> {
  const deadline = Date.now() + UI_TIMEOUT_MS;
  for (;;) {
    let unclickable: unknown;
    for (const el of await page.$$(selector)) {
      try {
        if (!(await el.isVisible())) continue;
        if (how === 'mouse') await el.click();
        else await el.evaluate((e) => (e as unknown as { click(): void }).click());
        return;
      } catch (err) {
        // Re-rendered or still moving between isVisible and the click (a drawer's list reorders as columns come and
        // go): puppeteer finds no point to press, so nothing was clicked and the next look finds the new element.
        if (!/not clickable|not an Element|detached|Execution context was destroyed/.test(String(err))) throw err;
        unclickable = err;
      }
    }
    if (Date.now() > deadline) {
      throw new Error(`no visible, clickable ${selector} after ${UI_TIMEOUT_MS} ms`, { cause: unclickable });
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Picks the signal in the open Send a Signal dialog: from its list while the workflow runs (the UI asks the workflow
 * which signals it has), else typed into the name field.
 */
export async function chooseSignal(page: Page, name: string): Promise<void> {
  const modal = '#signal-confirmation-modal';
  await page.waitForSelector(`${modal} #signal-select, ${modal} #signal-name`, { timeout: UI_TIMEOUT_MS });
  if (await page.$(`${modal} #signal-select`)) {
    await clickVisible(page, `${modal} [data-testid=signal-select-button]`);
    // Without the mouse: the list opens with an animation, and a mouse click during it can land on the next option.
    await clickVisible(page, `${modal} li[role=option] ::-p-text(${name})`, 'dom');
  } else {
    await clickVisible(page, `${modal} #signal-name`);
    await page.keyboard.type(name);
  }
}

/**
 * Types `text` into the visible editor matching `selector` and waits until the editor shows it: a click that lands
 * while a menu is still closing leaves the focus elsewhere, so it clicks again until the text arrives.
 */
export async function typeInto(page: Page, selector: string, text: string): Promise<void> {
  const deadline = Date.now() + UI_TIMEOUT_MS;
  const shows = () =>
    page.evaluate(
      (sel: string, t: string) =>
        [...(globalThis as unknown as InPage).document.querySelectorAll(sel)].some((e) =>
          e.innerText.replace(/\s+/g, '').includes(t.replace(/\s+/g, '')),
        ),
      selector,
      text,
    );
  while (!(await shows())) {
    if (Date.now() > deadline) throw new Error(`${selector} does not show what was typed: ${text}`);
    await clickVisible(page, selector);
    await page.keyboard.down('Control');
    await page.keyboard.press('KeyA');
    await page.keyboard.up('Control');
    await page.keyboard.press('Backspace');
    await page.keyboard.type(text);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/**
 * Adds search attribute columns to the workflow list through its Configure Columns drawer, as a person would, and
 * takes out `remove` (to make room in a 1400-pixel window); `whileOpen` runs before the drawer closes.
 */
export async function configureListColumns(
  page: Page,
  cols: { add: string[]; remove?: string[] },
  whileOpen: (page: Page) => Promise<void> = async () => undefined,
): Promise<void> {
  const item = (name: string, action: 'add' | 'remove') =>
    `[data-testid="orderable-list-item-${name}-${action}-button"]`;
  await clickVisible(page, '[data-testid=workflows-summary-table-configuration-button]');
  for (const name of cols.remove ?? []) await clickVisible(page, item(name, 'remove'));
  for (const name of cols.add) await clickVisible(page, item(name, 'add'));
  // Back to the top of the drawer, where the columns in view are listed.
  await page.evaluate(() => {
    for (const e of (globalThis as unknown as InPage).document.querySelectorAll('*')) {
      if (e.scrollHeight > e.clientHeight + 1 && e.scrollTop > 0) e.scrollTop = 0;
    }
  });
  await whileOpen(page);
  await clickVisible(page, '[data-testid=drawer-close-button]');
  await waitUntilHidden(page, '[data-testid=drawer-close-button]');
}

/** Waits until no element matching `selector` is visible (a drawer or menu has closed). */
export async function waitUntilHidden(page: Page, selector: string): Promise<void> {
  const deadline = Date.now() + UI_TIMEOUT_MS;
  for (;;) {
    let visible = false;
    for (const el of await page.$$(selector)) visible ||= await el.isVisible();
    if (!visible) return;
    if (Date.now() > deadline) throw new Error(`${selector} is still visible after ${UI_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Where `npm run ui:screenshots` writes, when it runs; undefined in the test run. */
export function screenshotDir(): string | undefined {
  const dir = process.env.S3C_UI_SCREENSHOTS;
  if (dir) mkdirSync(dir, { recursive: true });
  return dir;
}

/** Saves a screenshot of the page (or of one element) when screenshots are being recorded. */
export async function shoot(page: Page, name: string, opts: { clip?: string; tall?: boolean; width?: number } = {}) {
  const dir = screenshotDir();
  if (!dir) return;
  const file = path.join(dir, `${name}.png`) as `${string}.png`;
  // Svelte's own fade-ins run in script, past the CSS that turns transitions off: let them end.
  await new Promise((r) => setTimeout(r, 800));
  if (opts.clip) {
    const el = await page.waitForSelector(opts.clip, { visible: true, timeout: UI_TIMEOUT_MS });
    await el!.screenshot({ path: file });
  } else if (opts.tall || opts.width) {
    // The UI scrolls inside its own panes, so a full-page screenshot shows no more: a larger window does.
    await page.setViewport({ width: opts.width ?? VIEWPORT.width, height: opts.tall ? 1600 : VIEWPORT.height });
    await new Promise((r) => setTimeout(r, 500));
    await page.screenshot({ path: file });
    await page.setViewport(VIEWPORT);
  } else {
    await page.screenshot({ path: file });
  }
}
