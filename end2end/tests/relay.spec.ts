// The native hook relay as a person sees it: every shell call's card says what the relay decided,
// deny rules block, and the first shell call after the server was killed still passes the relay.
import { expect, test } from '@playwright/test';
import { entries, idle, newSession, ready, send, toggleInternals } from './support/chat';
import { newDataDir, startServer } from './support/server';

test('a deny rule blocks a command and its card says so', async ({ page }) => {
  await newSession(page);
  await send(page, '/shell echo forbidden-word');
  const card = entries(page, 'tool').filter({ hasText: 'forbidden-word' }).first();
  await expect(card).toHaveAttribute('data-relay', 'denied');
  await expect(card).toContainText('not allowed by the test policy');
  await idle(page);
  await page.reload();
  await ready(page);
  await expect(entries(page, 'tool').and(page.locator('[data-relay="denied"]'))).toHaveCount(1);
});

test('the first shell call after the server is killed with SIGKILL and restarted passes the relay', async ({ page }) => {
  const dataDir = newDataDir('restart');
  let server = await startServer({ dataDir });
  try {
    const url = await newSession(page, server.url);
    await send(page, '/shell echo before-kill');
    const before = entries(page, 'tool').filter({ hasText: 'before-kill' });
    await expect(before).toHaveAttribute('data-relay', 'allowed');
    await idle(page);
    const path = new URL(url).pathname;

    await server.kill();
    server = await startServer({ dataDir });
    await page.goto(server.url + path);
    await ready(page);
    await expect(entries(page, 'tool').filter({ hasText: 'before-kill' })).toHaveCount(1);

    await send(page, '/shell echo after-restart-$((6*7))');
    const after = entries(page, 'tool').filter({ hasText: 'after-restart' });
    await expect(after).toHaveAttribute('data-relay', 'allowed');
    await expect(after).toContainText('after-restart-42');
    await expect(entries(page, 'assistant').filter({ hasText: 'after-restart-42' })).toHaveCount(1);
    await idle(page);
  } finally {
    await server.stop();
  }
});

test('hook traffic is an internal: hidden by default, shown with show-internals', async ({ page }) => {
  await newSession(page);
  await send(page, '/shell echo internals-check');
  await expect(entries(page, 'tool').filter({ hasText: 'internals-check' })).toHaveAttribute('data-relay', 'allowed');
  await idle(page);
  const hookEntries = page.locator('[data-testid="entry"][data-private="true"]').filter({ hasText: 'hook PreToolUse' });
  await expect(hookEntries).toHaveCount(0);
  await toggleInternals(page);
  await expect(hookEntries.first()).toBeVisible();
  // The detail is rendered by the server, for the page and for live events alike.
  await expect(hookEntries.first()).toContainText('"decision"');
  const before = await hookEntries.count();
  await send(page, '/shell echo internals-live');
  await idle(page);
  await expect.poll(() => hookEntries.count()).toBeGreaterThan(before);
  await expect(hookEntries.last()).toContainText('"generation"');
  await toggleInternals(page);
});
