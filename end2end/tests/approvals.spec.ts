// Approvals as a person sees them, against the real Codex and the demo model: a card in every
// tab, answered once from any of them, kept across a reload; decline, Stop and a killed server
// each end it in a state that says so; `ask` mode shows a file change's diff before it applies.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, Page, test } from '@playwright/test';
import { entries, idle, newSession, ready, send } from './support/chat';
import { freePort, newDataDir, startServer } from './support/server';

/** A folder outside every server's workspace (and not under /tmp, which the sandbox allows). */
function outside(label: string): string {
  return newDataDir(`outside-${label}`);
}

function card(page: Page) {
  return page.getByTestId('approval');
}

test('an approval answered in one tab updates the other live, and a reload shows the decision', async ({ page, browser }) => {
  const url = await newSession(page);
  const other = await browser.newPage();
  await other.goto(url);
  await ready(other);
  const target = path.join(outside('approve'), 'approved.txt');

  await send(page, `/escalate touch ${target}`);
  for (const tab of [page, other]) {
    await expect(card(tab)).toHaveAttribute('data-state', 'pending');
    await expect(card(tab)).toHaveAttribute('data-approval-kind', 'command');
    await expect(card(tab)).toContainText('approved.txt');
    await expect(tab.getByTestId('approve')).toBeVisible();
  }
  // The tab title says someone is waiting, and focus is on the card's approve button.
  await expect(page).toHaveTitle(/Approval needed/);
  await expect(page.getByTestId('approve')).toBeFocused();
  expect(fs.existsSync(target)).toBe(false);

  await other.getByTestId('approve').click();
  for (const tab of [page, other]) {
    await expect(card(tab)).toHaveAttribute('data-state', 'accepted');
    await expect(tab.getByTestId('approve')).toHaveCount(0);
    await expect(tab.getByTestId('decline')).toHaveCount(0);
  }
  await idle(page);
  expect(fs.existsSync(target)).toBe(true);
  await expect(page).not.toHaveTitle(/Approval needed/);

  await page.reload();
  await ready(page);
  await expect(card(page)).toHaveAttribute('data-state', 'accepted');
  await expect(page.getByTestId('approve')).toHaveCount(0);
  await other.close();
});

test('Escape declines: the command never runs and its tool card says declined', async ({ page }) => {
  await newSession(page);
  const target = path.join(outside('decline'), 'declined.txt');
  await send(page, `/escalate touch ${target}`);
  await expect(card(page)).toHaveAttribute('data-state', 'pending');
  await expect(page.getByTestId('approve')).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(card(page)).toHaveAttribute('data-state', 'declined');
  await idle(page);
  await expect(
    entries(page, 'tool').and(page.locator('[data-status="declined"]')),
  ).toHaveCount(1);
  expect(fs.existsSync(target)).toBe(false);
});

test('Stop while an approval waits cancels it, and the next message works', async ({ page }) => {
  await newSession(page);
  const target = path.join(outside('stop'), 'stopped.txt');
  await send(page, `/escalate touch ${target}`);
  await expect(card(page)).toHaveAttribute('data-state', 'pending');
  await page.getByTestId('stop').click();
  await expect(card(page)).toHaveAttribute('data-state', 'cancelled');
  await expect(page.getByTestId('approve')).toHaveCount(0);
  await idle(page);
  await send(page, 'after the stop');
  await expect(entries(page, 'assistant').filter({ hasText: 'Echo: after the stop' })).toHaveCount(1);
  expect(fs.existsSync(target)).toBe(false);
});

test('a server killed while an approval waits shows it expired, without buttons, after the restart', async ({ page }) => {
  const dataDir = newDataDir('approval-kill');
  const port = await freePort();
  let server = await startServer({ dataDir, port });
  try {
    await newSession(page, server.url);
    const target = path.join(outside('kill'), 'killed.txt');
    await send(page, `/escalate touch ${target}`);
    await expect(card(page)).toHaveAttribute('data-state', 'pending');
    await server.kill();
    server = await startServer({ dataDir, port });
    await page.reload();
    await ready(page);
    await expect(card(page)).toHaveAttribute('data-state', 'expired');
    await expect(page.getByTestId('approve')).toHaveCount(0);
    await expect(page.getByTestId('decline')).toHaveCount(0);
    await expect(entries(page, 'notice').filter({ hasText: 'Send the message again' })).toHaveCount(1);
    expect(fs.existsSync(target)).toBe(false);
  } finally {
    await server.stop();
  }
});

test('in ask mode a file change shows its diff and applies once approved', async ({ page }) => {
  const dataDir = newDataDir('approval-edit');
  const server = await startServer({ dataDir });
  try {
    await newSession(page, server.url);
    const mode = page.getByTestId('mode');
    await expect(mode).toHaveValue('auto');
    await mode.selectOption('ask');
    // The choice is the session's: a reload shows it.
    await page.reload();
    await ready(page);
    await expect(page.getByTestId('mode')).toHaveValue('ask');

    await send(page, '/edit notes.txt hello from the browser');
    await expect(card(page)).toHaveAttribute('data-approval-kind', 'file-change');
    const diff = card(page).getByTestId('diff');
    await expect(card(page)).toContainText('notes.txt');
    await expect(diff.locator('[data-line="add"]')).toContainText('hello from the browser');
    const file = path.join(dataDir, 'workspace', 'notes.txt');
    expect(fs.existsSync(file)).toBe(false);

    await page.getByTestId('approve').click();
    await expect(card(page)).toHaveAttribute('data-state', 'accepted');
    await expect(entries(page, 'assistant').filter({ hasText: 'edited notes.txt' })).toHaveCount(1);
    await idle(page);
    expect(fs.readFileSync(file, 'utf8').trim()).toBe('hello from the browser');
  } finally {
    await server.stop();
  }
});
