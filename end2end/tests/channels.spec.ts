// Outbound channels and background runs in the browser, with the real Codex binary and the demo
// model: an explicit webhook send reaches a loopback receiver and shows a delivery card, `webchat`
// is refused as a channel, and a scheduled background run (cron, no UI source) shows up live in an
// open tab: its targetless send fails with the exact error, its webhook send is delivered, and the
// session header then names the last channel.
import { test, expect } from '@playwright/test';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { entries, idle, newSession, ready, send, watchErrors } from './support/chat';
import { newDataDir, startServer, Server } from './support/server';

/** A loopback webhook receiver that keeps every JSON body it gets. Requests to `/held` are
 * answered only when the test calls `release()`. */
class Receiver {
  bodies: Array<Record<string, unknown>> = [];
  private held: Array<() => void> = [];
  private server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      try {
        this.bodies.push(JSON.parse(raw));
      } catch {
        this.bodies.push({ unparsable: raw });
      }
      const answer = () => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      if (req.url === '/held') this.held.push(answer);
      else answer();
    });
  });

  release() {
    for (const answer of this.held.splice(0)) answer();
  }

  /** Starts listening; returns the base URL. */
  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  texts(): string[] {
    return this.bodies.map((b) => String(b.text));
  }

  async stop() {
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const SCHEDULED = 'e2e-schedule';

let receiver: Receiver;
let server: Server;

test.beforeAll(async () => {
  receiver = new Receiver();
  const url = await receiver.start();
  server = await startServer({
    dataDir: newDataDir('channels'),
    extraConfig: `
[channels.webhook.targets.ops]
url = "${url}/hook"

[channels.webhook.targets.held]
url = "${url}/held"

[[schedules]]
name = "every-minute"
cron = "* * * * *"
session = "${SCHEDULED}"
prompt = """
/say nobody is listening
/send webhook ops from the schedule
"""
`,
  });
});

test.afterAll(async () => {
  await server?.stop();
  await receiver?.stop();
});

function card(page: import('@playwright/test').Page) {
  return entries(page, 'tool').and(page.locator('[data-tool="delivery"]'));
}

test('a webhook send reaches the receiver and shows a delivery card; webchat is refused', async ({
  page,
}) => {
  const errors = watchErrors(page);
  await newSession(page, server.url);

  await send(page, '/send webhook ops hi from the browser');
  await expect(card(page)).toHaveCount(1);
  await expect(card(page).first()).toContainText('sent to webhook:ops');
  await expect(card(page).first()).toHaveAttribute('data-relay', 'none');
  await idle(page);
  expect(receiver.texts()).toContain('hi from the browser');
  // An explicit send is not a chat reply, and a WebChat turn never sets the last channel.
  await expect(entries(page, 'assistant')).toHaveCount(0);
  await expect(page.getByTestId('last-channel')).toContainText('none');

  await send(page, '/send webchat x hi');
  await expect(card(page)).toHaveCount(2);
  await expect(card(page).nth(1)).toContainText('not a deliverable channel');
  await idle(page);
  expect(receiver.texts()).not.toContain('hi');

  // Both cards are durable.
  await page.reload();
  await ready(page);
  await expect(card(page)).toHaveCount(2);
  await expect(card(page).first()).toContainText('sent to webhook:ops');
  expect(errors).toEqual([]);
});

test('a delivery under way says so, and its outcome completes the same card', async ({ page }) => {
  const errors = watchErrors(page);
  await newSession(page, server.url);

  await send(page, '/send webhook held patience');
  await expect(card(page)).toHaveCount(1);
  await expect(card(page).first()).toContainText('sending to webhook:held');
  await expect(page.getByTestId('working')).toHaveCount(1);
  const seq = await card(page).first().getAttribute('data-seq');
  // A reload while it is under way shows the same card, still sending.
  await page.reload();
  await ready(page);
  await expect(card(page).first()).toContainText('sending to webhook:held');
  receiver.release();
  await expect(card(page).first()).toContainText('sent to webhook:held');
  await expect(card(page)).toHaveCount(1);
  await expect(card(page).first()).toHaveAttribute('data-seq', seq!);
  await idle(page);
  expect(receiver.texts()).toContain('patience');
  expect(errors).toEqual([]);
});

test('a scheduled background run shows up live: no sink, webhook delivered, last channel set', async ({
  page,
}) => {
  // The schedule fires on every whole minute (UTC). The tab opens first and waits for a fire it
  // has not seen yet, so what it checks arrived live, whatever fired before.
  test.setTimeout(360_000);
  const errors = watchErrors(page);
  await page.goto(`${server.url}/sessions/${SCHEDULED}`);
  await ready(page);
  await expect(
    page.getByTestId('session').and(page.locator(`[data-session-key="${SCHEDULED}"]`)),
  ).toHaveCount(1);

  const requests = entries(page, 'notice').and(page.locator('[data-background="schedule every-minute"]'));
  const seen = await requests.count();
  // A fire comes within a minute; the limit leaves a busy machine room on top.
  await expect(requests).toHaveCount(seen + 1, { timeout: 150_000 });
  await expect(requests.last()).toContainText('/send webhook ops from the schedule');

  // Each fire leaves two cards: the targetless send's refusal, then the webhook delivery.
  const cards = card(page);
  await expect(cards).toHaveCount(2 * (seen + 1), { timeout: 120_000 });
  const refused = cards.nth(2 * seen);
  const sent = cards.nth(2 * seen + 1);
  await expect(refused).toContainText('Action send requires a target.');
  await expect(sent).toContainText('sent to webhook:ops');
  // Every entry of the run is marked as a background run, including its cards.
  await expect(refused).toHaveAttribute('data-background', 'schedule every-minute');
  await expect(sent).toHaveAttribute('data-background', 'schedule every-minute');
  await expect(page.getByTestId('last-channel')).toContainText('webhook:ops');
  await expect(page.getByTestId('last-channel')).toHaveAttribute('data-channel', 'webhook:ops');
  expect(receiver.texts()).toContain('from the schedule');
  // Nothing a background run sends lands in the chat as a reply.
  await expect(entries(page, 'assistant')).toHaveCount(0);

  await page.reload();
  await ready(page);
  await expect(page.getByTestId('last-channel')).toContainText('webhook:ops');
  await expect(card(page).nth(2 * seen)).toContainText('Action send requires a target.');
  expect(errors).toEqual([]);
});

test('a background run started through the API shows up live in an open tab', async ({
  page,
  request,
}) => {
  await newSession(page, server.url);
  const key = new URL(page.url()).pathname.split('/').pop();

  const res = await request.post(`${server.url}/api/v1/sessions/${key}/runs`, {
    data: { prompt: '/send webhook ops via the api', client_id: 'e2e-api-1' },
  });
  expect(res.status()).toBe(202);
  expect((await res.json()).status).toBe('started');

  await expect(page.locator('[data-background="api"]').first()).toBeVisible();
  await expect(card(page).first()).toContainText('sent to webhook:ops');
  await expect(page.getByTestId('last-channel')).toContainText('webhook:ops');
  await idle(page);
  expect(receiver.texts()).toContain('via the api');
});
