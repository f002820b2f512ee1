// The Content-Security-Policy in a real browser: the page hydrates and chats over its WebSocket
// with no CSP violation, an injected inline script is blocked, and a server with an access token
// lets a browser in through its one-time pairing link (HttpOnly, SameSite=Strict cookie) only.
// (Inert markdown is covered in chat.spec.ts.)
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, Page, test } from '@playwright/test';
import { entries, idle, newSession, ready, send, watchErrors } from './support/chat';
import { freePort, newDataDir, repoRoot } from './support/server';

/** Collects every console message about the Content Security Policy. */
function watchCsp(page: Page): string[] {
  const violations: string[] = [];
  page.on('console', (msg) => {
    if (msg.text().includes('Content Security Policy')) violations.push(msg.text());
  });
  return violations;
}

test('pages carry a nonce CSP and hydrate, chat and reload without any violation', async ({ page }) => {
  const violations = watchCsp(page);
  const errors = watchErrors(page);
  const url = await newSession(page);

  const response = await page.goto(url);
  const csp = response?.headers()['content-security-policy'] ?? '';
  expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9_-]{16,}' 'wasm-unsafe-eval'/);
  expect(csp).not.toContain('unsafe-inline');
  await ready(page);

  const word = `csp-${Date.now()}`;
  await send(page, word);
  await expect(entries(page, 'assistant').filter({ hasText: `Echo: ${word}` })).toHaveCount(1);
  await idle(page);
  await page.reload();
  await ready(page);
  await expect(entries(page, 'assistant').filter({ hasText: `Echo: ${word}` })).toHaveCount(1);

  // Server-rendered Markdown (a table, code) shows under the policy too, live and after a reload.
  await send(page, '/markdown');
  await expect(entries(page, 'assistant').last().locator('table')).toHaveCount(1);
  await idle(page);
  await page.reload();
  await ready(page);
  await expect(entries(page, 'assistant').last().locator('table')).toHaveCount(1);

  // The one inline style the Markdown sanitiser keeps (table cell alignment) is allowed by hash.
  const align = await page.evaluate(() => {
    const holder = document.createElement('div');
    holder.innerHTML = '<table><tbody><tr><td style="text-align: center">x</td></tr></tbody></table>';
    document.body.append(holder);
    const value = getComputedStyle(holder.querySelector('td')!).textAlign;
    holder.remove();
    return value;
  });
  expect(align).toBe('center');

  expect(violations).toEqual([]);
  expect(errors).toEqual([]);
});

test('a hostile first message cannot close the page title', async ({ page }) => {
  // The bug: the session title (the first message) went into <title> unescaped during SSR, so
  // this message navigated every later visitor of the session to /pwned.
  const hostile = '</title><meta http-equiv=refresh content="0;url=/pwned">';
  const errors = watchErrors(page);
  const url = await newSession(page);
  await send(page, hostile);
  await expect(entries(page, 'user').filter({ hasText: hostile })).toHaveCount(1);
  await idle(page);

  // A later visitor: a fresh server render of the session.
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(url);
  await ready(page);
  expect(await page.title()).toBe(`${hostile} · Codex WebChat`);
  await expect(page.locator('head meta[http-equiv]')).toHaveCount(0);
  await expect(page.locator('title')).toHaveCount(1);
  await expect(entries(page, 'user').filter({ hasText: hostile })).toHaveCount(1);
  // A refresh of 0 seconds would have fired by now; the page is still the session's.
  await expect(page.getByTestId('transcript')).toBeVisible();
  expect(page.url()).toBe(url);
  expect(requests.filter((r) => r.includes('/pwned'))).toEqual([]);
  expect(errors).toEqual([]);
});

test('an injected inline script does not run', async ({ page }) => {
  const violations = watchCsp(page);
  await newSession(page);
  // An allowed inline script runs synchronously on insertion, so checking right after suffices.
  const ran = await page.evaluate(() => {
    const w = window as unknown as { injected?: boolean };
    const s = document.createElement('script');
    s.textContent = 'window.injected = true;';
    document.body.append(s);
    return w.injected === true;
  });
  expect(ran).toBe(false);
  await expect.poll(() => violations.length).toBeGreaterThan(0);
});

test('with an access token, only a paired browser gets in, and a pairing link works once', async ({ browser }) => {
  const dataDir = newDataDir('security-token');
  const port = await freePort();
  const proc = spawn(
    path.join(repoRoot, 'target', 'release', 'codex-webchat'),
    ['serve', '--addr', `127.0.0.1:${port}`, '--data-dir', dataDir],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CODEX_WEBCHAT_TOKEN: `e2e-token-${'x'.repeat(32)}`, CODEX_WEBCHAT_LOG: 'info' },
    },
  );
  proc.stderr?.pipe(fs.createWriteStream(path.join(dataDir, 'server.log')));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  try {
    const link = await new Promise<string>((resolve, reject) => {
      let out = '';
      proc.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const m = out.match(/pairing link[^:]*: (http:\/\/\S+)/);
        if (m) resolve(m[1]);
      });
      proc.once('exit', (code) => reject(new Error(`server exited early with ${code}`)));
    });
    const base = `http://127.0.0.1:${port}`;

    const stranger = await browser.newContext();
    const refused = await (await stranger.newPage()).goto(`${base}/`);
    expect(refused?.status()).toBe(401);
    await stranger.close();

    const context = await browser.newContext();
    const page = await context.newPage();
    const violations = watchCsp(page);
    await page.goto(link);
    await page.waitForURL(/\/sessions\//);
    await ready(page);
    const cookie = (await context.cookies()).find((c) => c.name === 'codex_webchat_session');
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe('Strict');
    await send(page, 'paired');
    await expect(entries(page, 'assistant').filter({ hasText: 'Echo: paired' })).toHaveCount(1);
    expect(violations).toEqual([]);

    const late = await browser.newContext();
    const again = await (await late.newPage()).goto(link);
    expect(again?.status()).toBe(401);
    await late.close();
    await context.close();
  } finally {
    proc.kill('SIGTERM');
    await exited;
  }
});
