// Starts and stops codex-webchat processes for tests: a release binary, loopback only, a free
// port, its own data folder. Only processes started here are ever signalled, by their own pid.
import { spawn, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..', '..');
const binary = path.join(repoRoot, 'target', 'release', 'codex-webchat');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function newDataDir(label: string): string {
  const dir = path.join(repoRoot, 'target', 'e2e-data', `${label}-${process.pid}-${Date.now()}`);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export interface Server {
  url: string;
  port: number;
  dataDir: string;
  proc: ChildProcess;
  /** Graceful stop (SIGTERM) and wait for exit. */
  stop(): Promise<void>;
  /** Hard kill (SIGKILL) and wait for exit. */
  kill(): Promise<void>;
}

/**
 * A configuration every test server gets: one deny rule for the relay tests, and a hook timeout
 * no busy machine reaches (Codex starts a shell and the relay command for every hooked call, and
 * fails open when that takes too long).
 */
export const TEST_CONFIG = `
hook_timeout_secs = 60

[tool_policy]
deny = [{ pattern = "forbidden-word", reason = "forbidden-word is not allowed by the test policy" }]
`;

/**
 * Starts the server and resolves once it printed its URL (it is then accepting connections).
 * `extraConfig` is appended to TEST_CONFIG (channels, schedules).
 */
export async function startServer(opts: {
  dataDir: string;
  port?: number;
  extraConfig?: string;
  /** More `serve` arguments (`--model codex --codex-bin …`). */
  args?: string[];
  /** Top-level keys (`turn_stall_secs = 15`), written before TEST_CONFIG's tables. */
  topConfig?: string;
}): Promise<Server> {
  if (!fs.existsSync(binary)) {
    throw new Error(`${binary} is missing: run 'cargo leptos build --release' first`);
  }
  const port = opts.port ?? (await freePort());
  const configFile = path.join(opts.dataDir, 'test-config.toml');
  fs.writeFileSync(configFile, (opts.topConfig ?? '') + TEST_CONFIG + (opts.extraConfig ?? ''));
  const proc = spawn(
    binary,
    ['serve', '--addr', `127.0.0.1:${port}`, '--data-dir', opts.dataDir, '--config', configFile, ...(opts.args ?? [])],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CODEX_WEBCHAT_LOG: 'info' } },
  );
  const log = fs.createWriteStream(path.join(opts.dataDir, `server-${port}.log`), { flags: 'a' });
  proc.stderr?.pipe(log);
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) {
        proc.stdout?.off('data', onData);
        resolve(m[1]);
      }
    };
    proc.stdout?.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`server exited early with ${code}; see ${opts.dataDir}`)));
  });
  const exited = new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve();
    else proc.once('exit', () => resolve());
  });
  return {
    url,
    port,
    dataDir: opts.dataDir,
    proc,
    stop: async () => {
      proc.kill('SIGTERM');
      await exited;
    },
    kill: async () => {
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** The fake Codex app-server the Rust tests build (`cargo test` builds it into target/debug). */
export const fakeCodex = path.join(repoRoot, 'target', 'debug', 'codex-webchat-fake-codex');

/**
 * A server in Codex mode on the fake app-server, whose account starts as `account` says
 * (`signed_out`, `chatgpt`, else an API key). Its `codexHome` is where a test plays the person's
 * other device (`fake-device`).
 */
export async function startFakeCodexServer(label: string, account: string, topConfig?: string) {
  if (!fs.existsSync(fakeCodex)) {
    throw new Error(`${fakeCodex} is missing: run 'cargo test --no-run' first`);
  }
  const dataDir = newDataDir(label);
  const codexHome = path.join(dataDir, 'codex-home');
  fs.mkdirSync(codexHome, { recursive: true });
  fs.writeFileSync(path.join(codexHome, 'fake-codex.json'), JSON.stringify({ account }));
  const server = await startServer({
    dataDir,
    topConfig,
    args: ['--model', 'codex', '--codex-bin', fakeCodex, '--codex-home', codexHome],
  });
  return { server, codexHome };
}
