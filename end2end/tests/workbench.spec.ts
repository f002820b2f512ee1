// Workspaces and models as a person sees them, against the real Codex and the demo model: the
// sidebar's workspace select decides where a new session's Codex works (`/shell pwd` prints it),
// the header names the workspace, and the model/effort selects list the demo model, with a
// changed effort kept across a reload.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, test } from '@playwright/test';
import { entries, idle, ready, send } from './support/chat';
import { newDataDir, startServer, Server } from './support/server';

let server: Server;
let alpha: string;
let beta: string;

test.beforeAll(async () => {
  const dataDir = newDataDir('workbench');
  for (const name of ['alpha', 'beta']) fs.mkdirSync(path.join(dataDir, name), { recursive: true });
  // The server stores workspace paths canonical, and `pwd` prints them so.
  alpha = fs.realpathSync(path.join(dataDir, 'alpha'));
  beta = fs.realpathSync(path.join(dataDir, 'beta'));
  server = await startServer({
    dataDir,
    extraConfig: `
[[workspaces]]
name = "alpha"
path = ${JSON.stringify(alpha)}

[[workspaces]]
name = "beta"
path = ${JSON.stringify(beta)}
`,
  });
});

test.afterAll(async () => {
  await server?.stop();
});

test('a new session works in the workspace picked next to new-session', async ({ page }) => {
  await page.goto(server.url);
  await ready(page);
  const select = page.getByTestId('workspace');
  await expect(select.locator('option')).toHaveText(['alpha', 'beta']);
  await select.selectOption('beta');
  const before = page.url();
  await page.getByTestId('new-session').click();
  await page.waitForURL((u) => u.toString() !== before && /\/sessions\//.test(u.toString()));
  await ready(page);
  await expect(page.getByTestId('workspace-name')).toContainText('beta');

  await send(page, '/shell pwd');
  await idle(page);
  await expect(entries(page, 'assistant').filter({ hasText: beta })).toHaveCount(1);
});

test('the model select lists the demo model, and a changed effort survives a reload', async ({ page }) => {
  await page.goto(server.url);
  await ready(page);
  const before = page.url();
  await page.getByTestId('new-session').click();
  await page.waitForURL((u) => u.toString() !== before && /\/sessions\//.test(u.toString()));
  await ready(page);
  // Codex lists its models once it is up; a page rendered before then has only "Default".
  await expect(async () => {
    await page.reload();
    await ready(page);
    await expect(page.getByTestId('model').locator('option[value="demo-model"]')).toHaveCount(1, { timeout: 1_000 });
  }).toPass();
  await expect(page.getByTestId('effort').locator('option')).toHaveText(['Default', 'low', 'medium', 'high']);

  await page.getByTestId('effort').selectOption('high');
  await expect(page.getByTestId('effort')).toHaveValue('high');
  // The change is stored (the server pushes the session list back), so a reload renders it.
  await expect(async () => {
    await page.reload();
    await ready(page);
    await expect(page.getByTestId('effort')).toHaveValue('high', { timeout: 1_000 });
  }).toPass();

  await send(page, 'with high effort');
  await idle(page);
  await expect(entries(page, 'assistant').filter({ hasText: 'Echo: with high effort' })).toHaveCount(1);
});
