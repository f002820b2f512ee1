// What Codex did, shown: the real Codex and the demo model produce real items (a file change, a
// plan, a reasoning summary), each becomes its card live, the context meter fills, and a reload
// shows the very same cards.
import { expect, Locator, Page, test } from '@playwright/test';
import { entries, idle, newSession, ready, send, toggleInternals } from './support/chat';

function tool(page: Page, name: string) {
  return entries(page, 'tool').and(page.locator(`[data-tool="${name}"]`));
}

/** What a card shows, markup aside (a live row and a server-rendered one differ in attribute
 * order and hydration markers): its text, its status, and each diff line's class and text. */
async function shown(card: Locator) {
  return {
    text: await card.textContent(),
    status: await card.getAttribute('data-status'),
    lines: await card
      .locator('[data-line]')
      .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-line')} ${e.textContent}`)),
  };
}

test('an edit shows its file change with the diff, the meter fills, and a reload shows the same', async ({ page }) => {
  await newSession(page);
  const file = `edited-${Date.now()}.txt`;
  await send(page, `/edit ${file} hello from the edit`);
  await expect(entries(page, 'assistant').filter({ hasText: `edited ${file}` })).toHaveCount(1);
  await idle(page);
  const card = tool(page, 'file_change');
  await expect(card).toHaveCount(1);
  await expect(card).toHaveAttribute('data-status', 'completed');
  await expect(card.getByTestId('diff')).toHaveCount(1);
  await expect(card.locator('[data-line="add"]').filter({ hasText: '+hello from the edit' })).toHaveCount(1);
  await expect(card).toContainText(file);
  const meter = page.getByTestId('context-meter');
  await expect(meter).toHaveAttribute('data-tokens', /^[1-9][0-9]*$/);
  const tokens = await meter.getAttribute('data-tokens');

  const before = await shown(card);
  expect(before.lines).toContain('add +hello from the edit');
  await page.reload();
  await ready(page);
  await expect(tool(page, 'file_change')).toHaveCount(1);
  expect(await shown(tool(page, 'file_change'))).toEqual(before);
  await expect(page.getByTestId('context-meter')).toHaveAttribute('data-tokens', tokens ?? '');
});

test('a plan is one card whose steps complete one by one, the same after a reload', async ({ page }) => {
  await newSession(page);
  await send(page, '/plan');
  await expect(entries(page, 'assistant').filter({ hasText: 'planned' })).toHaveCount(1);
  await idle(page);
  const plan = page.getByTestId('plan');
  await expect(plan).toHaveCount(1);
  const steps = plan.getByTestId('plan-step');
  await expect(steps).toHaveCount(3);
  await expect(steps.and(page.locator('[data-status="completed"]'))).toHaveCount(3);
  await page.reload();
  await ready(page);
  await expect(page.getByTestId('plan')).toHaveCount(1);
  await expect(
    page.getByTestId('plan-step').and(page.locator('[data-status="completed"]')),
  ).toHaveCount(3);
});

test('a reasoning summary is private: shown only with show-internals, live and after reload', async ({ page }) => {
  await newSession(page);
  await send(page, '/think weighing the options');
  await expect(entries(page, 'assistant').filter({ hasText: 'thought' })).toHaveCount(1);
  await idle(page);
  await expect(tool(page, 'reasoning')).toHaveCount(0);
  await toggleInternals(page);
  const card = tool(page, 'reasoning');
  await expect(card).toHaveCount(1);
  await expect(card).toHaveAttribute('data-private', 'true');
  await expect(card).toContainText('weighing the options');
});
