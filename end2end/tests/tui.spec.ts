// The terminal client beside the WebChat, against the real Codex and the demo model: the full-screen
// `codex-webchat tui` runs in a tmux pane (a real pseudo-terminal), typed into with send-keys and
// read with capture-pane. What is typed in one surface shows live in the other, a run from the
// terminal is an internal-UI run (its reply comes through the sink; the browser marks the entry
// `data-source="tui"`), and the terminal reconnects by itself when the server restarts under it.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { expect, test } from '@playwright/test';
import { entries, idle, newSession, send } from './support/chat';
import { freePort, newDataDir, repoRoot, startServer } from './support/server';

const binary = path.join(repoRoot, 'target', 'release', 'codex-webchat');

/** A tmux server of this test's own (its own socket), so nothing else is ever touched. */
class Pane {
  private readonly socket = `codex-webchat-e2e-${process.pid}-${Date.now()}`;

  constructor(command: string[]) {
    this.tmux(['new-session', '-d', '-s', 'tui', '-x', '120', '-y', '45', ...command]);
  }

  private tmux(args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
  }

  /** What the terminal shows now. */
  screen(): string {
    return this.tmux(['capture-pane', '-p', '-t', 'tui']);
  }

  type(text: string) {
    this.tmux(['send-keys', '-t', 'tui', '-l', text]);
    this.tmux(['send-keys', '-t', 'tui', 'Enter']);
  }

  /** Waits until the screen shows `text` (polls the screen: a terminal has no events to await). */
  async shows(text: string | RegExp) {
    await expect
      .poll(() => this.screen(), { message: `the terminal shows ${text}`, timeout: 60_000 })
      .toMatch(typeof text === 'string' ? new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : text);
  }

  kill() {
    try {
      this.tmux(['kill-server']);
    } catch {
      // Already gone (the client quit and took the session with it).
    }
  }
}

test('the terminal and the browser drive one session, and the terminal survives a server restart', async ({ page }) => {
  const dataDir = newDataDir('tui');
  const port = await freePort();
  let server = await startServer({ dataDir, port });
  let pane: Pane | undefined;
  try {
    const url = await newSession(page, server.url);
    const key = url.split('/sessions/')[1];
    pane = new Pane([binary, 'tui', '--url', server.url, '--session', key]);
    await pane.shows('● connected');

    // Typed in the terminal: the reply in the terminal, and both live in the browser.
    pane.type('typed in the terminal');
    await pane.shows('Echo: typed in the terminal');
    await expect(
      entries(page, 'user').and(page.locator('[data-source="tui"]')).filter({ hasText: 'typed in the terminal' }),
    ).toHaveCount(1);
    await expect(entries(page, 'assistant').filter({ hasText: 'Echo: typed in the terminal' })).toHaveCount(1);
    await idle(page);

    // Typed in the browser: live in the terminal.
    await send(page, 'typed in the browser');
    await expect(
      entries(page, 'user').and(page.locator('[data-source="webchat"]')).filter({ hasText: 'typed in the browser' }),
    ).toHaveCount(1);
    await pane.shows('Echo: typed in the browser');
    await idle(page);

    // A shell call from the terminal passes the hook relay; both show its card.
    pane.type('/shell echo from-the-terminal');
    await pane.shows('relay: allowed');
    await pane.shows(/from-the-terminal\s*\n/);
    await expect(
      entries(page, 'tool').and(page.locator('[data-relay="allowed"]')).filter({ hasText: 'echo from-the-terminal' }),
    ).toHaveCount(1);
    await idle(page);

    // The server dies under the terminal and comes back on the same port: it reconnects by
    // itself and goes on.
    await server.kill();
    await pane.shows('disconnected');
    server = await startServer({ dataDir, port });
    await pane.shows('● connected');
    pane.type('after the restart');
    await pane.shows('Echo: after the restart');
    await expect(entries(page, 'assistant').filter({ hasText: 'Echo: after the restart' })).toHaveCount(1);
  } finally {
    pane?.kill();
    await server.stop();
  }
});
