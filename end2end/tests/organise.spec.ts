// Issue 13, finding and organising sessions as a person does it: the sidebar search (Ctrl+K,
// typing, arrows and Enter) opens the matching entry in its session, marked; renaming (in the
// sidebar and in the header), archiving and deleting a session show live in a second tab.
import { expect, Page, test } from '@playwright/test';
import { entries, idle, newSession, ready, send, watchErrors } from './support/chat';

function sessionLink(page: Page, url: string) {
  const key = url.split('/sessions/')[1].split(/[?#]/)[0];
  return page.locator(`[data-testid="session"][data-session-key="${key}"]`);
}

async function actions(page: Page, url: string) {
  const link = sessionLink(page, url);
  // The actions show on hover (and focus), as in most chat sidebars.
  await link.hover();
  return link.locator('xpath=..');
}

test('a search across sessions opens the entry it found, marked', async ({ page }) => {
  const errors = watchErrors(page);
  const word = `zanzibar${Date.now()}`;
  const first = await newSession(page);
  await send(page, `the ${word} report is late`);
  await expect(entries(page, 'assistant').filter({ hasText: word })).toHaveCount(1);
  await idle(page);
  await newSession(page);

  await page.keyboard.press('Control+k');
  const search = page.getByTestId('search');
  await expect(search).toBeFocused();
  await search.pressSequentially(word.slice(0, 12));
  const results = page.getByTestId('search-result');
  // The message and the demo model's echo of it.
  await expect(results).toHaveCount(2);
  await expect(results.first().locator('mark')).toHaveText(new RegExp(`^${word.slice(0, 12)}`));
  await expect(page.getByTestId('session-list')).toBeHidden();
  await search.press('ArrowDown');
  await expect(results.nth(1)).toHaveAttribute('aria-selected', 'true');
  await search.press('ArrowUp');
  await expect(results.nth(0)).toHaveAttribute('aria-selected', 'true');
  const seq = await results.nth(0).getAttribute('data-seq');
  await Promise.all([page.waitForURL(/\?at=\d+$/), search.press('Enter')]);
  await ready(page);
  expect(page.url().split('?')[0]).toBe(first.split('?')[0]);
  const marked = page.locator('[data-highlighted="true"]');
  await expect(marked).toHaveCount(1);
  await expect(marked).toHaveAttribute('data-seq', seq ?? '');
  await expect(marked).toContainText(word);
  expect(errors).toEqual([]);
});

test('rename, archive and delete show live in another tab', async ({ page, context }) => {
  const url = await newSession(page);
  await send(page, 'to be organised');
  await expect(entries(page, 'assistant').filter({ hasText: 'to be organised' })).toHaveCount(1);
  await idle(page);
  const other = await context.newPage();
  await other.goto(url);
  await ready(other);
  const name = `Renamed ${Date.now()}`;

  // In the sidebar: the title itself becomes editable; Enter saves.
  const item = await actions(page, url);
  await item.getByTestId('rename-session').click();
  const link = sessionLink(page, url);
  await expect(link).toHaveAttribute('contenteditable', /.+/);
  await link.fill(name);
  await link.press('Enter');
  await expect(sessionLink(other, url)).toHaveText(name);
  await expect(other.locator('.chat-title')).toHaveText(name);

  // In the header.
  await page.getByTestId('rename-title').click();
  const heading = page.locator('.chat-title');
  await heading.fill(`${name} again`);
  await heading.press('Enter');
  await expect(sessionLink(other, url)).toHaveText(`${name} again`);
  // Escape puts the old title back.
  await page.getByTestId('rename-title').click();
  await page.locator('.chat-title').fill('never saved');
  await page.locator('.chat-title').press('Escape');
  await expect(page.locator('.chat-title')).toHaveText(`${name} again`);

  // Archived: listed apart, in both tabs; and back.
  await (await actions(page, url)).getByTestId('archive-session').click();
  const archived = other.getByTestId('archived-sessions');
  await expect(archived).toBeVisible();
  await expect(archived).toContainText(`${name} again`);
  await expect(other.getByTestId('session-list')).not.toContainText(`${name} again`);
  await archived.locator('summary').click();
  await (await actions(other, url)).getByTestId('archive-session').click();
  await expect(page.getByTestId('session-list')).toContainText(`${name} again`);

  // Deleted after a confirmation: gone from the other tab's list; this tab moves on.
  page.once('dialog', (d) => d.accept());
  await (await actions(page, url)).getByTestId('delete-session').click();
  await expect(sessionLink(other, url)).toHaveCount(0);
  await page.waitForURL((u) => !u.toString().startsWith(url));
  const gone = await page.request.get(url.replace('/sessions/', '/api/v1/sessions/'));
  expect(gone.status()).toBe(404);
  await other.close();
});

test('declining the confirmation keeps the session', async ({ page }) => {
  const url = await newSession(page);
  page.once('dialog', (d) => d.dismiss());
  await (await actions(page, url)).getByTestId('delete-session').click();
  await page.reload();
  await ready(page);
  await expect(sessionLink(page, url)).toHaveCount(1);
});

test('the Markdown export holds what the person saw', async ({ page }) => {
  await newSession(page);
  await send(page, 'export **me** please');
  await expect(entries(page, 'assistant').filter({ hasText: 'export' })).toHaveCount(1);
  await idle(page);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-md').click()]);
  expect(download.suggestedFilename()).toMatch(/^session-s-[0-9a-f]+\.md$/);
  const text = require('node:fs').readFileSync(await download.path(), 'utf8');
  expect(text).toContain('## You\n\nexport **me** please\n');
  expect(text).toContain('## Codex\n\nEcho: export **me** please\n');
});
