// Steering a running turn and attaching images, as a person does it, against the real Codex and
// the demo model: an attached PNG is uploaded, shown under the composer, sent with the message,
// shown as a thumbnail in the user entry (also after a reload) and counted by the model; a message
// steered into a `/stream 40 100` turn (the Steer button, or Ctrl+Enter) is marked
// `data-steered="true"` and answered within that run, with no notice and no second run.
import { expect, Page, test } from '@playwright/test';
import { entries, idle, newSession, ready, send, toggleInternals, watchErrors } from './support/chat';

/** A real 1x1 PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==',
  'base64',
);

/** The thumbnail has loaded from the server (an authenticated, same-origin image URL). */
async function loaded(page: Page) {
  const image = entries(page, 'user').getByTestId('image');
  await expect(image).toHaveCount(1);
  await expect(image).toHaveAttribute('alt', 'red.png');
  await expect(image).toHaveAttribute('src', /^\/api\/v1\/images\/[0-9a-f]{64}$/);
  await expect
    .poll(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth))
    .toBe(1);
}

test('an attached PNG is sent, shown as a thumbnail, counted by the model and kept across a reload', async ({ page }) => {
  const errors = watchErrors(page);
  await newSession(page);
  await page.getByTestId('attach').setInputFiles({ name: 'red.png', mimeType: 'image/png', buffer: PNG });
  const attachment = page.getByTestId('attachment');
  await expect(attachment).toHaveCount(1);
  await expect(attachment).toContainText('red.png');

  await send(page, 'look');
  await expect(entries(page, 'assistant').filter({ hasText: 'Echo: look (1 images)' })).toHaveCount(1);
  await expect(page.getByTestId('attachment')).toHaveCount(0);
  await loaded(page);
  await idle(page);

  await page.reload();
  await ready(page);
  await loaded(page);
  expect(errors).toEqual([]);
});

test('an attachment can be removed before sending', async ({ page }) => {
  await newSession(page);
  await page.getByTestId('attach').setInputFiles({ name: 'red.png', mimeType: 'image/png', buffer: PNG });
  await expect(page.getByTestId('attachment')).toHaveCount(1);
  await page.getByTestId('remove-attachment').click();
  await expect(page.getByTestId('attachment')).toHaveCount(0);
  await send(page, 'no pictures');
  await expect(entries(page, 'assistant').filter({ hasText: 'Echo: no pictures' })).toHaveCount(1);
  await expect(entries(page, 'user').getByTestId('image')).toHaveCount(0);
});

/** Starts `/stream 40 100` and waits until its words stream (so the turn is running in Codex). */
async function streaming(page: Page) {
  await newSession(page);
  // Private prose is shown only with internals on: the first word says the turn is under way.
  await toggleInternals(page);
  await send(page, '/stream 40 100');
  await expect(entries(page, 'assistant').filter({ hasText: 'word1' })).toHaveCount(1);
  await expect(page.getByTestId('steer')).toBeVisible();
}

/** The steered `hello` is marked, answered in the same run, and nothing was queued. */
async function answeredWithinTheRun(page: Page) {
  const steered = entries(page, 'user').and(page.locator('[data-steered="true"]'));
  await expect(steered).toHaveCount(1);
  await expect(steered).toContainText('hello');
  await expect(entries(page, 'assistant').filter({ hasText: 'Echo: hello' })).toHaveCount(1);
  await idle(page);
  // No "queued as a new message" notice (internals are on, so the hooks' notes are listed too),
  // and the reply comes after the steered message.
  await expect(entries(page, 'notice').filter({ hasText: 'queued as a new message' })).toHaveCount(0);
  const seqs = await page
    .getByTestId('entry')
    .evaluateAll((els) =>
      els
        .filter((e) => e.textContent?.includes('hello'))
        .map((e) => [e.getAttribute('data-kind'), Number(e.getAttribute('data-seq'))]),
    );
  const user = seqs.find(([kind]) => kind === 'user');
  const reply = seqs.find(([kind]) => kind === 'assistant');
  expect(user && reply && (reply[1] as number) > (user[1] as number)).toBe(true);
  // The steer button leaves with the run.
  await expect(page.getByTestId('steer')).toBeHidden();
  // After a reload the entry still says it was steered.
  await page.reload();
  await ready(page);
  await expect(entries(page, 'user').and(page.locator('[data-steered="true"]'))).toHaveCount(1);
}

test('the Steer button sends into the streaming turn, which answers it', async ({ page }) => {
  await streaming(page);
  await page.getByTestId('composer').fill('hello');
  await page.getByTestId('steer').click();
  await answeredWithinTheRun(page);
});

test('Ctrl+Enter steers too, while Enter keeps queueing', async ({ page }) => {
  await streaming(page);
  const composer = page.getByTestId('composer');
  await composer.fill('hello');
  await composer.press('Control+Enter');
  await answeredWithinTheRun(page);
  // With nothing running, Enter sends an ordinary message.
  await send(page, 'plain');
  await expect(entries(page, 'assistant').filter({ hasText: 'Echo: plain' })).toHaveCount(1);
  await expect(entries(page, 'user').and(page.locator('[data-steered="true"]'))).toHaveCount(1);
});
