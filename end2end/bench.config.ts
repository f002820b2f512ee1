// Budgets measured in the browser: `npx playwright test -c bench.config.ts` after
// `cargo leptos build --release`. It prints figures; the only assertions are that the page
// rendered what it should. Not part of scripts/test.sh.
import { defineConfig } from '@playwright/test';
import base from './playwright.config';

export default defineConfig({
  ...base,
  testDir: './bench',
  testMatch: '**/*.bench.ts',
  globalSetup: undefined,
  timeout: 600_000,
});
