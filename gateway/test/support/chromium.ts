/**
 * A real Chromium for browser tests: Debian's /usr/bin/chromium driven by playwright-core. Never a
 * browser a tool downloads: playwright-core has no browsers of its own, and we name the binary.
 * Each test gets a fresh profile in a temp directory, removed at teardown.
 */
import { access, constants, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import type { Test } from 'tap';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Quiet, offline, deterministic: no sandbox (containers), no GPU, no background traffic. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
] as const;

/** Every browser action and wait is bounded: a stuck page fails the test instead of hanging it. */
export const BROWSER_TIMEOUT_MS = 15_000;

async function executable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/**
 * A browser context on a fresh profile, closed at teardown. Without the browser: CI fails (the
 * browser tests must run there), a developer's machine skips with the reason; undefined then.
 */
export async function chromiumOrSkip(t: Test): Promise<BrowserContext | undefined> {
  if (!(await executable(CHROMIUM_PATH))) {
    const reason = `no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)`;
    if (process.env.CI) throw new Error(`browser tests need Chromium in CI: ${reason}`);
    t.test('in Chromium', { skip: reason }, () => {});
    return undefined;
  }
  const profile = await mkdtemp(join(tmpdir(), 'gatehouse-chromium-'));
  // launchPersistentContext is playwright's way of passing --user-data-dir (it refuses the flag in args).
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS],
    timeout: BROWSER_TIMEOUT_MS,
    offline: false,
    acceptDownloads: false,
  });
  context.setDefaultTimeout(BROWSER_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(BROWSER_TIMEOUT_MS);
  t.teardown(async () => {
    await context.close().catch(() => undefined);
    await rm(profile, { recursive: true, force: true });
  });
  return context;
}
