/**
 * A loopback port in front of another (Redis, in the tests) that forwards
 * connections while open and, while shut, drops every connection it has and
 * every new one: a server that is down, or not up yet, and then is.
 * @example
 * const gate = await startTcpGate(redis.port);     // shut at first
 * new RedisStore({ url: gate.url });
 * gate.open();                                     // Redis is up
 * gate.shut();                                     // ...and down again
 * afterEach(() => gate.close());
 */
import net, { type AddressInfo } from 'node:net';

export interface TcpGate {
  /** `redis://127.0.0.1:<port>` of the gate. */
  url: string;
  open(): void;
  /** Drop every connection through the gate, and refuse new ones until `open()`. */
  shut(): void;
  close(): Promise<void>;
}

/** Start a gate to `port` on 127.0.0.1, shut unless `open` is true. */
export async function startTcpGate(port: number, { open = false } = {}): Promise<TcpGate> {
  let up = open;
  const sockets = new Set<net.Socket>();
  const gate = net.createServer((socket) => {
    if (!up) return socket.destroy();
    const upstream = net.connect(port, '127.0.0.1');
    for (const s of [socket, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => (sockets.delete(s), socket.destroy(), upstream.destroy()));
    }
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve));
  const shut = () => {
    up = false;
    for (const s of sockets) s.destroy();
  };
  return {
    url: `redis://127.0.0.1:${(gate.address() as AddressInfo).port}`,
    open: () => void (up = true),
    shut,
    async close() {
      shut();
      await new Promise((resolve) => gate.close(resolve));
    },
  };
}
