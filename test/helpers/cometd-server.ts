// CometD's own Node server (npm `cometd-nodejs-server`, by the CometD project) as a
// second interop peer: long-polling only, and it finds a session by its
// `BAYEUX_BROWSER` cookie as well as by clientId, as browsers send cookies and
// Node's fetch does not. Everything started here is closed by `stopCometD()`:
// call it in afterEach. `wire` records the messages it receives and sends.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCometDServer, type CometDServer, type Options, type ServerMessage } from 'cometd-nodejs-server';

export interface RunningCometD {
  cometd: CometDServer;
  /** The Bayeux endpoint, e.g. `http://127.0.0.1:PORT/cometd` */
  url: string;
  port: number;
  /** Messages as the server received them (`in`) and sent them (`out`), in order. */
  wire: Array<{ dir: 'in' | 'out'; message: ServerMessage }>;
  /** Close this server now (a restart: start another on the same port). */
  stop(): Promise<void>;
}

const running: RunningCometD[] = [];

export async function startCometD(options: Options = {}, port = 0): Promise<RunningCometD> {
  const cometd = createCometDServer({ timeout: 2000, ...options });
  const wire: RunningCometD['wire'] = [];
  cometd.addExtension({
    incoming(_server, _session, message, callback) {
      wire.push({ dir: 'in', message: structuredClone(message) });
      callback(undefined, true);
    },
    outgoing(_server, _sender, _session, message, callback) {
      wire.push({ dir: 'out', message: structuredClone(message) });
      callback(undefined, true);
    },
  });
  const server = http.createServer(cometd.handle);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  const self: RunningCometD = {
    cometd,
    url: `http://127.0.0.1:${address.port}/cometd`,
    port: address.port,
    wire,
    async stop() {
      const i = running.indexOf(self);
      if (i < 0) return;
      running.splice(i, 1);
      cometd.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  running.push(self);
  return self;
}

export async function stopCometD(): Promise<void> {
  await Promise.all([...running].map((r) => r.stop()));
}

/**
 * A `platform.fetch` that keeps the cookies its responses set and sends them back, as a
 * browser does for its own origin: what a Node app gives cometkit for a server that pins
 * sessions with a cookie (the README's recipe). Share one between clients to play two tabs.
 */
export function fetchWithCookies(): typeof fetch {
  const jar = new Map<string, string>();
  return async (input, init = {}) => {
    const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(input, { ...init, headers: { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) } });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    return response;
  };
}
