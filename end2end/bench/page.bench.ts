// How fast a 200-message session is visible from the server-rendered HTML, and when it is
// hydrated, in Debian's Chromium against a release build (PRODUCT.md: visible under 150 ms).
// Figures are printed; nothing here is a timed assertion.
import { test, expect } from '@playwright/test';
import { newDataDir, startServer, Server } from '../tests/support/server';

let server: Server;

test.beforeAll(async () => {
  server = await startServer({ dataDir: newDataDir('bench-page') });
});

test.afterAll(async () => {
  await server?.stop();
});

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => s[Math.round((s.length - 1) * p)];
  return `median ${at(0.5).toFixed(0)} ms, p90 ${at(0.9).toFixed(0)} ms`;
}

test('a 200-message session: first paint and hydration', async ({ browser, request }) => {
  const session = await (await request.post(`${server.url}/api/v1/sessions`)).json();
  const key = session.key as string;
  // 100 turns: each a user message and its reply. They queue and run one after another.
  for (let i = 0; i < 100; i++) {
    const res = await request.post(`${server.url}/api/v1/sessions/${key}/messages`, {
      data: { text: `/say reply number ${i}, with **some** markdown and a [link](https://example.com)` },
    });
    expect(res.status()).toBe(202);
  }
  await expect
    .poll(
      async () => {
        const events = await (await request.get(`${server.url}/api/v1/sessions/${key}/events?limit=10000`)).json();
        return events.filter((e: { body: { type: string } }) => e.body.type === 'run_finished').length;
      },
      { timeout: 300_000, intervals: [500] },
    )
    .toBe(100);

  const empty = (await (await request.post(`${server.url}/api/v1/sessions`)).json()).key as string;
  for (const [label, k, entries] of [
    ['an empty session (baseline)', empty, 0],
    ['the 200-message session', key, 100],
  ] as const) {
    const url = `${server.url}/sessions/${k}`;
    const paint: number[] = [];
    const html: number[] = [];
    const hydrated: number[] = [];
    for (let i = 0; i < 12; i++) {
      // A fresh context each time: nothing cached, as for a first visit.
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(url);
      await expect(page.locator('[data-testid="entry"][data-kind="assistant"]')).toHaveCount(entries);
      await expect(page.locator('[data-testid="entry"][data-kind="user"]')).toHaveCount(entries);
      const t = await page.evaluate(async () => {
        const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
        const fcp = performance.getEntriesByName('first-contentful-paint')[0];
        return { responseEnd: nav.responseEnd, fcp: fcp ? fcp.startTime : NaN };
      });
      const hydratedAt = await page
        .waitForFunction(() => document.body.dataset.hydrated === 'true' && performance.now())
        .then((h) => h.jsonValue());
      if (i > 1) {
        // The first two are warm-up (server caches, Chromium start-up).
        html.push(t.responseEnd);
        paint.push(t.fcp);
        hydrated.push(hydratedAt as number);
      }
      await context.close();
    }
    console.log(`${label}: HTML received ${stats(html)}`);
    console.log(`${label}: first contentful paint (entries are in the HTML) ${stats(paint)}`);
    console.log(`${label}: hydrated (upper bound: includes polling) ${stats(hydrated)}`);
  }
});
