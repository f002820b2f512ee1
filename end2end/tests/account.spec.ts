// Issue 16, first real use, as a person sees it: the header's account state (the demo model; a
// Codex with no account), signing in with a device code from the header (the fake app-server's
// flow: the code shown, approved on "another device", the account in the header), a send refused
// at once while Codex has no account, and a run that only retries: the retry status live in the
// working indicator with the elapsed time, then the failed run's notice at the stall limit, the
// same after a reload.
import { expect, test } from '@playwright/test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { entries, idle, newSession, ready, send, toggleInternals, watchErrors } from './support/chat';
import { startFakeCodexServer } from './support/server';

test('the header says the demo model is in use and offers no sign-in', async ({ page }) => {
  await newSession(page);
  const account = page.getByTestId('account');
  await expect(account).toHaveAttribute('data-login', 'demo');
  await expect(account).toHaveText('Demo model (offline)');
  await expect(page.getByTestId('account-action')).toBeHidden();
  await expect(page.getByTestId('codex-down')).toBeHidden();
});

test('a Codex with no account refuses a send at once and signs in with a device code from the header', async ({ page }) => {
  const errors = watchErrors(page);
  const { server, codexHome } = await startFakeCodexServer('signin', 'signed_out');
  try {
    await newSession(page, server.url);
    const account = page.getByTestId('account');
    await expect(account).toHaveAttribute('data-login', 'signed_out');
    await expect(account).toHaveText('Codex: not signed in');

    // No turn that cannot succeed: the notice says why and how, at once.
    await send(page, 'hello');
    await expect(entries(page, 'notice').filter({ hasText: 'Codex is not signed in' })).toHaveCount(1);
    await expect(page.getByTestId('working')).toHaveCount(0);

    await page.getByTestId('account-action').click();
    await page.getByTestId('signin-device').click();
    const code = page.getByTestId('device-code');
    await expect(code).toHaveText(/^FAKE-\d+$/);
    await expect(page.getByTestId('device-url')).toHaveAttribute('href', 'https://auth.openai.com/codex/device');
    await expect(page.getByTestId('signin-waiting')).toBeVisible();
    // Every screen shows a sign-in in progress: a reload still has the code.
    const shown = await code.textContent();
    await page.reload();
    await ready(page);
    await expect(page.getByTestId('device-code')).toHaveText(shown ?? '');

    // The person approves it on their phone.
    fs.writeFileSync(path.join(codexHome, 'fake-device'), 'approve');
    await expect(account).toHaveAttribute('data-login', 'chatgpt');
    await expect(account).toHaveText('Codex: fake@example.com (plus)');
    await expect(page.getByTestId('device-code')).toBeHidden();
    await expect(page.getByTestId('rate-limits')).toContainText('5h 7%');

    // Signed in, the same session runs.
    await send(page, 'hello again');
    await expect(entries(page, 'assistant').filter({ hasText: 'Echo: hello again' })).toHaveCount(1);
    await idle(page);
    expect(errors).toEqual([]);
  } finally {
    await server.stop();
  }
});

test('an expired device code says so in the panel', async ({ page }) => {
  const { server, codexHome } = await startFakeCodexServer('signin-expired', 'signed_out');
  try {
    await newSession(page, server.url);
    await page.getByTestId('account-action').click();
    await page.getByTestId('signin-device').click();
    await expect(page.getByTestId('device-code')).toBeVisible();
    fs.writeFileSync(path.join(codexHome, 'fake-device'), 'expire');
    await expect(page.getByTestId('signin-error')).toContainText('device code expired');
    await expect(page.getByTestId('account')).toHaveAttribute('data-login', 'signed_out');
    // Offered again.
    await expect(page.getByTestId('signin-device')).toBeVisible();
  } finally {
    await server.stop();
  }
});

test('a run that only retries shows the retry status live, then fails at the stall limit naming the last error', async ({ page }) => {
  const errors = watchErrors(page);
  const { server } = await startFakeCodexServer('retry-stall', 'api_key', 'turn_stall_secs = 15\n');
  try {
    await newSession(page, server.url);
    await send(page, '/fake retry-forever');
    const retrying = page.getByTestId('retrying');
    // Codex retries at once, then every 10 s: which attempt is shown depends on when we look.
    await expect(retrying).toHaveText(/^Codex is retrying: Reconnecting\.\.\. (\d+)\/5 \(attempt \1\)$/);
    await expect(page.getByTestId('elapsed')).toHaveText(/^\d+s$|^\d+m \d\ds$/);
    const notice = /Codex made no progress for too long; its last error: Reconnecting\.\.\. \d+\/5/;
    await expect(entries(page, 'notice').filter({ hasText: notice })).toHaveCount(1);
    await expect(page.getByTestId('working')).toHaveCount(0);

    await page.reload();
    await ready(page);
    await expect(entries(page, 'notice').filter({ hasText: notice })).toHaveCount(1);
    // The retry itself is an internal: shown with internals on.
    await toggleInternals(page);
    await expect(
      entries(page, 'notice').filter({ hasText: 'Codex is retrying: Reconnecting... 1/5 (attempt 1)' }),
    ).toHaveCount(1);
    await toggleInternals(page);
    expect(errors).toEqual([]);
  } finally {
    await server.stop();
  }
});
