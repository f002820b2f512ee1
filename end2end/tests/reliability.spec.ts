// Reliability as a person sees it: a reload in the middle of a stream loses and repeats nothing,
// a tab survives a server restart under it without a reload, two tabs never diverge, and Stop ends
// a run that is inside a long shell call.
import { expect, Page, test } from '@playwright/test';
import { entries, entrySeqs, idle, newSession, ready, send, toggleInternals } from './support/chat';
import { freePort, newDataDir, startServer } from './support/server';

/** The private prose entry that `/stream` fills with `word1 word2 …`. */
function streamed(page: Page) {
  return page.locator('[data-testid="entry"][data-private="true"]').filter({ hasText: /word1\b/ });
}

function words(text: string): string[] {
  return text.split(/\s+/).filter((w) => /^word\d+$/.test(w));
}

test('a reload in the middle of /stream loses nothing and repeats nothing', async ({ page }) => {
  await newSession(page);
  await toggleInternals(page);
  await send(page, '/stream 40 120');
  await expect(streamed(page)).toContainText('word6');
  const before = words(await streamed(page).innerText());
  expect(before.length).toBeGreaterThanOrEqual(6);

  await page.reload();
  await ready(page);
  // What was streamed before the reload is there at once (rendered by the server from the store)…
  const afterReload = words(await streamed(page).innerText());
  expect(afterReload.slice(0, before.length)).toEqual(before);
  // …and the stream goes on in the same entry, to the end, once.
  await expect(streamed(page)).toContainText('word40');
  await expect(entries(page, 'assistant').filter({ hasText: 'streamed 40' })).toHaveCount(1);
  await idle(page);
  const expected = Array.from({ length: 40 }, (_, i) => `word${i + 1}`);
  expect(words(await streamed(page).innerText())).toEqual(expected);
  await expect(streamed(page)).toHaveCount(1);
  const seqs = await entrySeqs(page);
  expect(new Set(seqs).size).toBe(seqs.length);
});

test('a tab reconnects by itself when the server restarts under it, sends what was queued once, and shows the new reply', async ({ page }) => {
  const dataDir = newDataDir('reconnect');
  const port = await freePort();
  let server = await startServer({ dataDir, port });
  try {
    await newSession(page, server.url);
    await send(page, 'before the restart');
    await expect(entries(page, 'assistant').filter({ hasText: 'Echo: before the restart' })).toHaveCount(1);
    await idle(page);

    await server.kill();
    const connection = page.getByTestId('connection');
    await expect(connection).toHaveAttribute('data-state', /^(reconnecting|offline)$/);
    // A send while the server is down waits in the tab's outbox and goes out once on reconnect.
    await send(page, 'sent while the server was down');
    server = await startServer({ dataDir, port });
    // The backoff is at most 10 s; no reload, no click. (The limit is the suite's generous one.)
    await expect(connection).toHaveAttribute('data-state', 'connected');
    await expect(entries(page, 'assistant').filter({ hasText: 'Echo: sent while the server was down' })).toHaveCount(1);
    await idle(page);

    await send(page, 'after the restart');
    await expect(entries(page, 'assistant').filter({ hasText: 'Echo: after the restart' })).toHaveCount(1);
    await idle(page);
    await expect(entries(page, 'assistant').filter({ hasText: 'Echo: before the restart' })).toHaveCount(1);
    await expect(entries(page, 'user')).toHaveCount(3);
    await expect(entries(page, 'user').filter({ hasText: 'sent while the server was down' })).toHaveCount(1);
    const seqs = await entrySeqs(page);
    expect(new Set(seqs).size).toBe(seqs.length);
    // The stored transcript agrees with what the tab built live.
    await page.reload();
    await ready(page);
    expect(await entrySeqs(page)).toEqual(seqs);
  } finally {
    await server.stop();
  }
});

test('two tabs on one session stay identical', async ({ page, context }) => {
  const url = await newSession(page);
  const other = await context.newPage();
  await other.goto(url);
  await ready(other);

  await send(page, 'from the first tab');
  await send(other, '/stream 12 40');
  await send(page, '/shell echo two-tabs-$((20+1))');
  await expect(entries(page, 'assistant').filter({ hasText: 'two-tabs-21' })).toHaveCount(1);
  await idle(page);
  await idle(other);
  await expect.poll(() => entrySeqs(other)).toEqual(await entrySeqs(page));
  expect((await entrySeqs(page)).length).toBeGreaterThanOrEqual(6);

  // A reload of one tab renders the same entries the live one built.
  await other.reload();
  await ready(other);
  await expect.poll(() => entrySeqs(other)).toEqual(await entrySeqs(page));
  await other.close();
});

test('Stop during a long shell call ends the run', async ({ page }) => {
  // The command would run for ten minutes, so it cannot end by itself during the test; the only
  // other way the run ends is Codex handing the still-running command back after 30 s (the demo
  // model's yield time), which leaves no "stopped" notice. The bound below is that 30 s, twice
  // the old one, and what proves the Stop worked is the notice, whatever the machine's speed.
  await newSession(page);
  await send(page, '/shell sleep 600');
  await expect(entries(page, 'tool').filter({ hasText: 'sleep 600' })).toHaveCount(1);
  const shownAt = Date.now();
  await expect(page.getByTestId('stop')).toBeEnabled();
  await page.getByTestId('stop').click();
  await idle(page);
  // Before Codex would have handed the command back by itself.
  expect(Date.now() - shownAt).toBeLessThan(30_000);
  await expect(entries(page, 'notice').filter({ hasText: /stopped/i })).toHaveCount(1);
  await send(page, 'after the stopped shell');
  await expect(entries(page, 'assistant').filter({ hasText: 'Echo: after the stopped shell' })).toHaveCount(1);
  await idle(page);
});
