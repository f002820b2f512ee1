// The chat page's script arrives precompressed: the release build's `.br` files
// (scripts/precompress.sh) are what a brotli-accepting browser gets, and the page hydrates with
// them.
import { expect, test } from '@playwright/test';
import { baseUrl, ready, watchErrors } from './support/chat';

test('the wasm and its JS are served as brotli and the page hydrates', async ({ page }) => {
  const errors = watchErrors(page);
  const wasm = page.waitForResponse((r) => /\/pkg\/webchat.*\.wasm$/.test(new URL(r.url()).pathname));
  const js = page.waitForResponse((r) => /\/pkg\/webchat.*\.js$/.test(new URL(r.url()).pathname));
  await page.goto(baseUrl());
  for (const response of [await wasm, await js]) {
    expect(response.status()).toBe(200);
    expect(response.headers()['content-encoding']).toBe('br');
  }
  await ready(page);
  expect(errors).toEqual([]);
});
