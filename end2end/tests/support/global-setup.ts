// One shared server for the suite; tests that restart servers start their own.
import { startServer, newDataDir } from './server';

export default async function globalSetup() {
  const server = await startServer({ dataDir: newDataDir('suite') });
  process.env.WEBCHAT_URL = server.url;
  return async () => {
    await server.stop();
  };
}
