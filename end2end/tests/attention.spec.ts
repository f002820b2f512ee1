// Issue 13, attention and small screens: a run that finishes while the tab is hidden shows a
// browser notification (permission granted in the test's context, asked through the header's
// bell) and counts in the tab title until the tab is seen again; the copy buttons of a reply
// and of a code block put their text on the clipboard; `?` opens the shortcuts sheet; at 390×844
// the sidebar is a drawer, the composer stays in reach and nothing scrolls sideways.
import { expect, Page, test } from '@playwright/test';
import { baseUrl, entries, idle, newSession, ready, send, watchErrors } from './support/chat';

/// Makes the page believe it is hidden (or shown again), as switching tabs would: headless
/// Chromium keeps every page visible, so the document's own answer is replaced and the event sent.
async function setHidden(page: Page, hidden: boolean) {
  await page.evaluate((h) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    Object.defineProperty(document, 'visibilityState', {
      configurable: true,
      get: () => (h ? 'hidden' : 'visible'),
    });
    document.dispatchEvent(new Event('visibilitychange'));
    window.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

test('a run that finishes in a hidden tab notifies and counts in the title', async ({ page, context }) => {
  const errors = watchErrors(page);
  await context.grantPermissions(['notifications'], { origin: baseUrl() });
  // Records each notification the page shows, then shows it as the browser would.
  await page.addInitScript(() => {
    const Real = window.Notification;
    const shown: { title: string; body: string }[] = [];
    (window as any).shownNotifications = shown;
    class Recording extends Real {
      constructor(title: string, options?: NotificationOptions) {
        super(title, options);
        shown.push({ title, body: options?.body ?? '' });
      }
    }
    Object.defineProperty(window, 'Notification', { value: Recording });
  });
  await newSession(page);
  const bell = page.getByTestId('notify');
  await bell.click();
  await expect(bell).toHaveAttribute('data-permission', 'granted');
  await send(page, 'first');
  await expect(entries(page, 'assistant').filter({ hasText: 'Echo: first' })).toHaveCount(1);
  await idle(page);
  // Seen while visible: nothing to count.
  await expect(page).not.toHaveTitle(/^\(\d+\)/);

  await setHidden(page, true);
  await page.getByTestId('composer').fill('/stream 3 300');
  await page.getByTestId('composer').press('Enter');
  await idle(page);
  await expect(page).toHaveTitle(/^\(1\) /);
  const shown = await page.evaluate(() => (window as any).shownNotifications);
  expect(shown).toEqual([{ title: 'Codex finished', body: expect.any(String) }]);
  expect(shown[0].body.length).toBeGreaterThan(0);

  await setHidden(page, false);
  await expect(page).not.toHaveTitle(/^\(\d+\)/);
  expect(errors).toEqual([]);
});

test('copy buttons copy a reply, a code block and a message', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseUrl() });
  await newSession(page);
  await send(page, '/say Run this:\n\n```sh\nls -la /tmp\n```');
  const reply = entries(page, 'assistant').filter({ hasText: 'Run this' });
  await expect(reply).toHaveCount(1);
  await idle(page);

  const code = reply.locator('button[data-copy="code"]');
  await code.click();
  await expect(code).toHaveAttribute('data-copied', 'true');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('ls -la /tmp\n');

  const message = reply.locator('button[data-copy="message"]');
  await message.click();
  await expect(message).toHaveAttribute('data-copied', 'true');
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied).toContain('Run this:');
  expect(copied).toContain('ls -la /tmp');

  // A message of one's own too, exactly as written.
  const mine = entries(page, 'user').last().locator('button[data-copy="message"]');
  await mine.click();
  await expect(mine).toHaveAttribute('data-copied', 'true');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('/say Run this:\n\n```sh\nls -la /tmp\n```');
});

test('? opens the shortcuts sheet, but not while typing', async ({ page }) => {
  await newSession(page);
  const sheet = page.getByTestId('shortcuts');
  await expect(sheet).toBeHidden();
  await page.getByTestId('composer').press('?');
  await expect(sheet).toBeHidden();
  await expect(page.getByTestId('composer')).toHaveValue('?');
  await page.getByTestId('composer').fill('');
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.keyboard.press('?');
  await expect(sheet).toBeVisible();
  await expect(sheet).toContainText('Ctrl+K');
  await page.keyboard.press('Escape');
  await expect(sheet).toBeHidden();
  await page.getByTestId('shortcuts-button').click();
  await expect(sheet).toBeVisible();
});

test.describe('on a phone', () => {
  test.use({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });

  test('the sidebar is a drawer, the composer is in reach and nothing scrolls sideways', async ({ page }) => {
    const errors = watchErrors(page);
    await page.goto(baseUrl());
    await ready(page);
    const before = page.url();
    // The new-session button lives in the drawer.
    await page.getByTestId('drawer-open').click();
    await page.getByTestId('new-session').click();
    await page.waitForURL((u) => u.toString() !== before && /\/sessions\//.test(u.toString()));
    await ready(page);
    const url = page.url();
    await send(page, 'a long word: ' + 'x'.repeat(300));
    await expect(entries(page, 'assistant')).toHaveCount(1);
    await idle(page);

    const sidebar = page.locator('.sidebar');
    const composer = page.getByTestId('composer');
    await expect(sidebar).toBeHidden();
    await expect(composer).toBeInViewport();
    const overflow = () =>
      page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(await overflow()).toBe(0);

    await page.getByTestId('drawer-open').click();
    await expect(sidebar).toBeVisible();
    await expect(page.getByTestId('new-session')).toBeInViewport();
    const key = url.split('/sessions/')[1];
    await expect(page.locator(`[data-testid="session"][data-session-key="${key}"]`)).toBeInViewport();
    expect(await overflow()).toBe(0);
    // The backdrop closes it.
    await page.mouse.click(380, 420);
    await expect(sidebar).toBeHidden();
    await expect(composer).toBeInViewport();
    await composer.fill('typed on a phone');
    await composer.press('Enter');
    await expect(entries(page, 'assistant').filter({ hasText: 'typed on a phone' })).toHaveCount(1);
    expect(await overflow()).toBe(0);
    expect(errors).toEqual([]);
  });
});

test('a session\'s Codex thread is listed on the threads page and leads back to it', async ({ page }) => {
  const url = await newSession(page);
  await send(page, 'listed');
  await expect(entries(page, 'assistant').filter({ hasText: 'Echo: listed' })).toHaveCount(1);
  await idle(page);
  await Promise.all([page.waitForURL(/\/codex-threads$/), page.getByTestId('open-codex-thread').click()]);
  await expect(page.getByRole('heading', { name: 'Open a Codex thread' })).toBeVisible();
  const key = url.split('/sessions/')[1];
  // Made by codex-webchat, so open in its session already: the link goes there, no second open.
  const back = page.getByTestId('codex-thread').locator(`a[href="/sessions/${key}"]`);
  await expect(back).toHaveCount(1);
  await Promise.all([page.waitForURL(/\/sessions\//), back.click()]);
  await ready(page);
  expect(page.url()).toBe(url);
});
