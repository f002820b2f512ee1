// Page helpers shared by the specs: they speak only the UI contract's test ids.
import { expect, Page } from '@playwright/test';

export function baseUrl(): string {
  const url = process.env.WEBCHAT_URL;
  if (!url) throw new Error('WEBCHAT_URL is not set (globalSetup did not run)');
  return url;
}

/** Fails the test on any uncaught page error (a broken hydration shows up here). */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
}

export async function ready(page: Page) {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
}

/** Opens a fresh session through the new-session control and waits until it is live. */
export async function newSession(page: Page, url = baseUrl()): Promise<string> {
  await page.goto(url);
  await ready(page);
  const before = page.url();
  await page.getByTestId('new-session').click();
  await page.waitForURL((u) => u.toString() !== before && /\/sessions\//.test(u.toString()));
  await ready(page);
  return page.url();
}

export async function send(page: Page, text: string) {
  const composer = page.getByTestId('composer');
  await composer.fill(text);
  await composer.press('Enter');
}

export function entries(page: Page, kind?: string) {
  const all = page.getByTestId('entry');
  return kind ? all.and(page.locator(`[data-kind="${kind}"]`)) : all;
}

/** Waits until no run is in progress. */
export async function idle(page: Page) {
  await expect(page.getByTestId('working')).toHaveCount(0);
}

/** Flips show-internals; the page reloads so the server renders the same choice. */
export async function toggleInternals(page: Page) {
  const toggle = page.getByTestId('show-internals');
  const was = await toggle.isChecked();
  await Promise.all([page.waitForEvent('load'), toggle.click()]);
  await ready(page);
  await expect(page.getByTestId('show-internals')).toBeChecked({ checked: !was });
}

/** The `data-seq` of every transcript entry, in page order: two views of one session agree on it. */
export async function entrySeqs(page: Page): Promise<string[]> {
  return page.getByTestId('entry').evaluateAll((els) => els.map((e) => e.getAttribute('data-seq') ?? ''));
}
