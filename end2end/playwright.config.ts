// Playwright runs against a release build of codex-webchat, started by globalSetup with a fresh
// data folder and a free loopback port, in Debian's chromium (never a downloaded browser).
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: './tests',
  globalSetup: './tests/support/global-setup.ts',
  // Generous: every wait ends on an event (an entry appears, a state flips), so a long limit costs
  // nothing on a quiet machine and keeps a busy one (a real Codex turn on two shared cores) from
  // reading as a failure. No test's outcome is a deadline.
  timeout: 240_000,
  expect: { timeout: 60_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: 'list',
  use: {
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
});
