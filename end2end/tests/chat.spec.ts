// The vertical slice: chat with the real Codex app-server on the demo model, message-tool replies
// that survive a reload, live updates in a second tab, markdown that stays inert, Stop.
import { expect, test } from '@playwright/test';
import { baseUrl, entries, entrySeqs, idle, newSession, ready, send, toggleInternals, watchErrors } from './support/chat';

test('a message-tool reply appears, survives a reload once, and keeps private prose hidden', async ({ page, request }) => {
  const errors = watchErrors(page);
  const url = await newSession(page);
  const word = `hello-${Date.now()}`;
  await send(page, word);

  const reply = entries(page, 'assistant').filter({ hasText: `Echo: ${word}` });
  await expect(reply).toHaveCount(1);
  await idle(page);
  await expect(page.getByTestId('composer')).toHaveValue('');

  await page.reload();
  await ready(page);
  await expect(entries(page, 'user').filter({ hasText: word })).toHaveCount(1);
  await expect(entries(page, 'assistant').filter({ hasText: `Echo: ${word}` })).toHaveCount(1);
  // The model's final prose ("done") is private: not shown without show-internals.
  await expect(page.locator('[data-testid="entry"][data-private="true"]')).toHaveCount(0);
  await expect(entries(page, 'assistant').filter({ hasText: /^\s*done\s*$/ })).toHaveCount(0);

  // The reply is in the server-rendered HTML, readable before any script runs.
  const html = await (await request.get(url)).text();
  expect(html).toContain(`Echo: ${word}`);
  expect(html).toContain('data-hydrated="false"');
  expect(errors).toEqual([]);
});

test('show-internals reveals the private final prose and survives a reload', async ({ page }) => {
  await newSession(page);
  await send(page, 'internals please');
  await expect(entries(page, 'assistant').filter({ hasText: 'Echo: internals please' })).toHaveCount(1);
  await idle(page);
  await toggleInternals(page);
  const privateDone = page.locator('[data-testid="entry"][data-private="true"]').filter({ hasText: 'done' });
  await expect(privateDone.first()).toBeVisible();
  await page.reload();
  await ready(page);
  await expect(privateDone.first()).toBeVisible();
  // Turn it off again so later tests start from the default.
  await toggleInternals(page);
  await expect(page.locator('[data-testid="entry"][data-private="true"]')).toHaveCount(0);
});

test('a second tab sees the reply live', async ({ page, context }) => {
  const url = await newSession(page);
  const other = await context.newPage();
  await other.goto(url);
  await ready(other);
  await send(page, '/say seen in both tabs');
  await expect(entries(other, 'assistant').filter({ hasText: 'seen in both tabs' })).toHaveCount(1);
  await expect(entries(other, 'user').filter({ hasText: '/say seen in both tabs' })).toHaveCount(1);
  await expect(entries(page, 'assistant').filter({ hasText: 'seen in both tabs' })).toHaveCount(1);
  await other.close();
});

test('/markdown renders a table and code, and its hostile HTML is inert', async ({ page }) => {
  const dialogs: string[] = [];
  page.on('dialog', async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });
  await newSession(page);
  await send(page, '/markdown');
  const reply = entries(page, 'assistant').last();
  await expect(reply.locator('table')).toHaveCount(1);
  await expect(reply.locator('pre code')).toHaveCount(1);
  await idle(page);
  const transcript = page.getByTestId('transcript');
  await expect(transcript.locator('script')).toHaveCount(0);
  await expect(transcript.locator('img')).toHaveCount(0);
  await expect(transcript.locator('[onerror]')).toHaveCount(0);
  await expect(transcript.locator('a[href^="javascript:"]')).toHaveCount(0);
  // The hostile markup is shown as text, not dropped silently.
  await expect(reply).toContainText('<script>');
  await page.reload();
  await ready(page);
  await expect(page.getByTestId('transcript').locator('script, img, [onerror]')).toHaveCount(0);
  expect(dialogs).toEqual([]);
});

test('Stop ends a /stream run', async ({ page }) => {
  await newSession(page);
  await send(page, '/stream 200 100');
  await expect(page.getByTestId('working')).toBeVisible();
  await expect(page.getByTestId('stop')).toBeEnabled();
  await page.getByTestId('stop').click();
  await idle(page);
  await expect(entries(page, 'notice').filter({ hasText: /stopped/i })).toHaveCount(1);
  // The run never reached its final message.
  await expect(entries(page, 'assistant').filter({ hasText: 'streamed 200' })).toHaveCount(0);
  // And the session still works afterwards.
  await send(page, 'after stop');
  await expect(entries(page, 'assistant').filter({ hasText: 'Echo: after stop' })).toHaveCount(1);
});

test('sessions have their own URLs; switching keeps each transcript', async ({ page }) => {
  const first = await newSession(page);
  await send(page, 'first session message');
  await expect(entries(page, 'assistant').filter({ hasText: 'Echo: first session message' })).toHaveCount(1);
  // The run's last events (its end) come after the reply; the second session must be newer.
  await idle(page);
  const second = await newSession(page);
  expect(second).not.toEqual(first);
  await expect(entries(page)).toHaveCount(0);
  const key = first.split('/sessions/')[1];
  await page.locator(`[data-testid="session"][data-session-key="${key}"]`).click();
  await page.waitForURL(first);
  await ready(page);
  await expect(entries(page, 'assistant').filter({ hasText: 'Echo: first session message' })).toHaveCount(1);
  // `/` opens the most recently active session: the second one was created after the first's
  // last message.
  await page.goto(baseUrl());
  await expect(page).toHaveURL(second);
});

test('Enter sends, Shift+Enter breaks the line, empty input is not sent', async ({ page }) => {
  await newSession(page);
  const composer = page.getByTestId('composer');
  await composer.fill('   ');
  await composer.press('Enter');
  await expect(entries(page, 'user')).toHaveCount(0);
  await composer.fill('line one');
  await composer.press('Shift+Enter');
  await composer.pressSequentially('line two');
  await expect(composer).toHaveValue('line one\nline two');
  await composer.press('Enter');
  await expect(entries(page, 'user')).toHaveCount(1);
  await expect(entries(page, 'user')).toContainText('line two');
  await idle(page);
});

test('/shell shows a tool card with the command and its output, then the reply', async ({ page }) => {
  await newSession(page);
  await send(page, '/shell echo shell-$((40+2))');
  const card = entries(page, 'tool').filter({ hasText: 'echo shell-' });
  await expect(card).toHaveCount(1);
  await expect(card).toHaveAttribute('data-tool', 'shell');
  await expect(card).toHaveAttribute('data-relay', 'allowed');
  await expect(card).toContainText('shell-42');
  await expect(entries(page, 'assistant').filter({ hasText: 'shell-42' })).toHaveCount(1);
  await idle(page);
  await page.reload();
  await ready(page);
  await expect(entries(page, 'tool').filter({ hasText: 'shell-42' })).toHaveCount(1);
});

test('/fail ends the run with a visible error notice', async ({ page }) => {
  await newSession(page);
  await send(page, '/fail');
  await expect(entries(page, 'notice').filter({ hasText: /failed/i })).toHaveCount(1);
  await idle(page);
});

test('a long history shows its recent part first; earlier entries come on a scroll up', async ({ page }) => {
  const errors = watchErrors(page);
  // A short window onto the transcript, so the page cannot show everything at once.
  await page.setViewportSize({ width: 900, height: 420 });
  const url = await newSession(page);
  await send(page, 'the very first message');
  await expect(entries(page, 'assistant').filter({ hasText: 'Echo: the very first message' })).toHaveCount(1);
  await idle(page);
  await send(page, 'the latest message');
  await expect(entries(page, 'assistant').filter({ hasText: 'Echo: the latest message' })).toHaveCount(1);
  await idle(page);
  // The whole session, as a page that holds all of it renders it.
  await page.reload();
  await ready(page);
  const whole = await entrySeqs(page);
  // A window that ends just after the first event: the page starts at the next message.
  const key = new URL(url).pathname.split('/').pop();
  const events = await (await page.request.get(`${baseUrl()}/api/v1/sessions/${key}/events`)).json();
  const window = events[events.length - 1].seq - 1;
  await page.goto(`${url}?window=${window}`);
  await ready(page);
  const latest = entries(page, 'user').filter({ hasText: 'the latest message' });
  await expect(latest).toHaveCount(1);
  await expect(entries(page, 'user').filter({ hasText: 'the very first message' })).toHaveCount(0);
  // Still live after hydration; a tall reply pushes the older entries out of view.
  await send(page, '/markdown');
  await expect(entries(page, 'assistant').locator('table')).toHaveCount(1);
  await idle(page);
  await expect(latest).not.toBeInViewport();
  // Scrolling up brings the earlier part in above, in place: no page load.
  const transcript = page.getByTestId('transcript');
  await transcript.evaluate((el) => el.scrollTo({ top: 0 }));
  await expect(entries(page, 'user').filter({ hasText: 'the very first message' })).toHaveCount(1);
  expect(page.url()).toBe(`${url}?window=${window}`);
  // The reader stays where they were, at the entry that opened the page, instead of being thrown
  // to the top of what came in.
  await expect(latest).toBeInViewport();
  // That was the session's start: nothing further up to load.
  await expect(page.getByTestId('load-earlier')).toBeHidden();
  // The same entries, in the same order, as a page that held them all (and the new run).
  const now = await entrySeqs(page);
  expect(now.slice(0, whole.length)).toEqual(whole);
  await page.goto(url);
  await ready(page);
  expect(await entrySeqs(page)).toEqual(now);
  expect(errors).toEqual([]);
});

test('before the page is live, "Show earlier messages" loads a larger window', async ({ page }) => {
  const url = await newSession(page);
  await send(page, 'one of two');
  await expect(entries(page, 'assistant').filter({ hasText: 'Echo: one of two' })).toHaveCount(1);
  await idle(page);
  await send(page, 'two of two');
  await expect(entries(page, 'assistant').filter({ hasText: 'Echo: two of two' })).toHaveCount(1);
  await idle(page);
  const key = new URL(url).pathname.split('/').pop();
  const events = await (await page.request.get(`${baseUrl()}/api/v1/sessions/${key}/events`)).json();
  const window = events[events.length - 1].seq - 1;
  // Without scripts the link is a page load of a window four times as large.
  const context = await page.context().browser()!.newContext({ javaScriptEnabled: false });
  const plain = await context.newPage();
  await plain.goto(`${url}?window=${window}`);
  await expect(entries(plain, 'user').filter({ hasText: 'one of two' })).toHaveCount(0);
  await plain.getByTestId('load-earlier').click();
  await plain.waitForURL(new RegExp(`window=${window * 4}&from=`));
  await expect(entries(plain, 'user').filter({ hasText: 'one of two' })).toHaveCount(1);
  await expect(plain.getByTestId('load-earlier')).toHaveCount(0);
  await context.close();
});
