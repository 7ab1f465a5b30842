/**
 * Headless Debian Chromium driven by playwright-core (no browser download). When chromium is
 * missing the browser tests skip with a loud message, unless REQUIRE_BROWSER=1 (CI), where a
 * missing browser is a failure.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { findOnPath } from '../../src/ladder/ffmpeg-path.js';

export function chromiumPath(): string | undefined {
  const env = process.env['CHROMIUM_PATH'];
  if (env && existsSync(env)) return env;
  return findOnPath('chromium') ?? findOnPath('chromium-browser');
}

export const browserAvailable = chromiumPath() !== undefined;

if (!browserAvailable) {
  if (process.env['REQUIRE_BROWSER'] === '1') {
    throw new Error('REQUIRE_BROWSER=1 but no chromium found: apt-get install -y chromium');
  }
  console.warn('\n!!! chromium not found: BROWSER TESTS ARE SKIPPED (apt-get install -y chromium) !!!\n');
}

export interface BrowserSession {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** `ignoreHttpsErrors`: accept a test's self-signed certificate (HTTPS tests only). */
export async function openBrowser(options: { ignoreHttpsErrors?: boolean } = {}): Promise<BrowserSession> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'sg-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath()!,
    headless: true,
    ignoreHTTPSErrors: options.ignoreHttpsErrors ?? false,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    browser: context.browser()!,
    context,
    page,
    close: () => context.close(),
  };
}

export const HLS_JS_PATH = join(process.cwd(), 'node_modules/hls.js/dist/hls.min.js');
export const DASH_JS_PATH = join(process.cwd(), 'node_modules/dashjs/dist/modern/umd/dash.all.min.js');
