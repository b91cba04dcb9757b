// A fault-injecting TCP proxy on 127.0.0.1 (ephemeral port) for the chaos tests.
//
// Why it exists: the SDK promises lossless, in-order, exactly-once delivery to the
// app across dropped connections (docs/wire.md, the `ack` extension). Mocked
// transports cannot show that, because the failures that matter happen between
// real sockets: a response cut off after half its bytes, a held long-poll torn
// down, an SSE stream that stalls, a WebSocket upgrade a middlebox refuses. This
// proxy sits between a real client and the reference server and does exactly
// those things, at random but reproducibly: every decision comes from one
// seeded PRNG (mulberry32), and the seed is printed (`chaosSeed()`), so a failing
// run is replayed with `CHAOS_SEED=<seed>`. (Socket timing still varies between
// runs, so a replay makes the same decisions, not necessarily at the same bytes.)
//
// It works on raw TCP (node:net), so it is transport-agnostic: HTTP keep-alive,
// chunked SSE, and WebSocket frames after a `101` are all just byte chunks.
// Faults, each with its own rate:
//   - close:    per chunk (either direction), reset both sockets instead of forwarding it;
//   - reap:     per tick, reset one random live connection (catches idle held
//               connects and quiet streams, which per-chunk faults never see);
//   - delay:    per server→client chunk, hold it (and everything behind it) for a while;
//   - truncate: per server→client chunk, forward only part of it, then reset both;
//   - refuse:   per tick, open a window during which WebSocket upgrade requests are
//               answered `503` or simply dropped.
//
// Bounded: faults are injected only between `start()` and `faultWindowMs` later
// (or until `maxFaults` faults); afterwards, and before `start()`, the proxy
// forwards faithfully, so a test always ends in calm and can assert convergence.
// Its timers are unref'd and `close()` resets every socket and stops listening.
//
// To add a fault: add its rate to `ChaosRates` (and DEFAULT_RATES), a counter to
// `FaultCounts`, and a branch in `fromClient`/`fromServer` (per chunk) or `tick`
// (per time), drawing from `this.#random()` only, and through `#fault()` so it is
// counted, logged and stops at the end of the window.
import net, { type AddressInfo } from 'node:net';

/** mulberry32: a tiny, fast, seeded PRNG with a 2^32 period; plenty for fault decisions. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The run's seed: `CHAOS_SEED` (an unsigned 32-bit integer) or a random one.
 * Always printed, so a failure can be replayed.
 */
export function chaosSeed(env: string | undefined = process.env.CHAOS_SEED): number {
  const given = env !== undefined && env.trim() !== '' ? Number(env) : NaN;
  const seed = Number.isInteger(given) && given >= 0 ? given >>> 0 : Math.floor(Math.random() * 2 ** 32);
  console.log(`chaos seed=${seed} (replay with CHAOS_SEED=${seed})`);
  return seed;
}

/** Probability of each fault: per chunk for close, delay and truncate; per tick for reap and refuse. */
export interface ChaosRates {
  close: number;
  delay: number;
  truncate: number;
  reap: number;
  refuseUpgrades: number;
}

export const DEFAULT_RATES: Readonly<ChaosRates> = Object.freeze({
  close: 0.04,
  delay: 0.12,
  truncate: 0.04,
  reap: 0.08,
  refuseUpgrades: 0.12,
});

export interface ChaosOptions {
  /** Where to forward: the reference server's port on 127.0.0.1. */
  targetPort: number;
  targetHost?: string;
  seed: number;
  rates?: Partial<ChaosRates>;
  /** Faults happen only this long after `start()`. @default 3000 */
  faultWindowMs?: number;
  /** And at most this many. @default 200 */
  maxFaults?: number;
  /** A delayed chunk waits a uniform random time in this range, ms. @default [20, 400] */
  delayMs?: readonly [number, number];
  /** A refusal window lasts a uniform random time in this range, ms. @default [200, 800] */
  refuseMs?: readonly [number, number];
  /** Period of the per-time faults (reap, refuse), ms. @default 100 */
  tickMs?: number;
}

export interface FaultCounts {
  close: number;
  reap: number;
  delay: number;
  truncate: number;
  /** Upgrade requests refused (503 or dropped). */
  refused: number;
  /** Refusal windows opened. */
  refuseWindows: number;
}

export interface ChaosProxy {
  readonly port: number;
  /** `http://127.0.0.1:<proxy port><path>`. */
  url(path: string): string;
  /** Begin the fault window. */
  start(): void;
  /** End the fault window now (it also ends by itself). */
  calm(): void;
  /** True while faults are being injected. */
  readonly active: boolean;
  readonly faults: Readonly<FaultCounts>;
  /** Connections accepted so far. */
  readonly connections: number;
  /** The last fault decisions, `+<ms> <what>`, for failure messages. */
  readonly log: readonly string[];
  /** Reset every socket and stop listening. */
  close(): Promise<void>;
}

/** A request head asking for a WebSocket upgrade (RFC 6455 §4.1). */
const UPGRADE = /^[A-Z]+ [^\r\n]* HTTP\/1\.1\r\n(?:[^\r\n]+\r\n)*?upgrade:[ \t]*websocket/i;
const LOG_LIMIT = 400;

interface Pair {
  id: number;
  client: net.Socket;
  upstream: net.Socket;
}

class Proxy implements ChaosProxy {
  readonly #o: Required<Omit<ChaosOptions, 'rates'>> & { rates: ChaosRates };
  readonly #random: () => number;
  readonly #server: net.Server;
  readonly #pairs = new Set<Pair>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly faults: FaultCounts = { close: 0, reap: 0, delay: 0, truncate: 0, refused: 0, refuseWindows: 0 };
  readonly log: string[] = [];
  connections = 0;
  port = 0;
  #startedAt = 0;
  #active = false;
  #refuseUntil = 0;
  #tick: ReturnType<typeof setInterval> | undefined;
  #end: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(options: ChaosOptions) {
    this.#o = {
      targetHost: '127.0.0.1',
      faultWindowMs: 3000,
      maxFaults: 200,
      delayMs: [20, 400],
      refuseMs: [200, 800],
      tickMs: 100,
      ...options,
      rates: { ...DEFAULT_RATES, ...options.rates },
    };
    this.#random = mulberry32(options.seed);
    this.#server = net.createServer({ allowHalfOpen: true }, (client) => this.#accept(client));
  }

  get active(): boolean {
    return this.#active;
  }

  listen(): Promise<this> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => {
        this.port = (this.#server.address() as AddressInfo).port;
        resolve(this);
      });
    });
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  start(): void {
    if (this.#closed || this.#active) return;
    this.#active = true;
    this.#startedAt = Date.now();
    this.#note('faults on');
    this.#tick = setInterval(() => this.#onTick(), this.#o.tickMs);
    this.#tick.unref();
    this.#end = setTimeout(() => this.calm(), this.#o.faultWindowMs);
    this.#end.unref();
  }

  calm(): void {
    if (!this.#active) return;
    this.#active = false;
    this.#refuseUntil = 0;
    clearInterval(this.#tick);
    clearTimeout(this.#end);
    this.#note('faults off');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.calm();
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const pair of this.#pairs) this.#kill(pair);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  // ---- per connection ---------------------------------------------------

  #accept(client: net.Socket): void {
    if (this.#closed) return void client.destroy();
    const upstream = net.connect({ port: this.#o.targetPort, host: this.#o.targetHost, allowHalfOpen: true });
    const pair: Pair = { id: ++this.connections, client, upstream };
    this.#pairs.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on('data', (chunk: Buffer) => this.#fromClient(pair, chunk));
    upstream.on('data', (chunk: Buffer) => this.#fromServer(pair, chunk));
    // Half-closes and orderly closes pass through (the other side finishes writing,
    // then ends); an error on either side takes the whole pair down.
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    for (const [s, other] of [[client, upstream], [upstream, client]] as const) {
      s.on('error', () => this.#kill(pair));
      s.on('close', (hadError) => {
        if (hadError) return this.#kill(pair);
        if (!other.destroyed) other.end();
        if (other.destroyed) this.#pairs.delete(pair);
      });
    }
  }

  #fromClient(pair: Pair, chunk: Buffer): void {
    if (this.#active && UPGRADE.test(chunk.toString('latin1', 0, Math.min(chunk.length, 2048)))) {
      if (Date.now() < this.#refuseUntil && this.#fault('refused', pair, 'refuse WebSocket upgrade')) {
        if (this.#random() < 0.5) {
          pair.client.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
          pair.upstream.destroy();
        } else {
          this.#kill(pair);
        }
        return;
      }
    }
    if (this.#chance('close') && this.#fault('close', pair, `close before ${chunk.length} bytes to the server`)) {
      return this.#kill(pair);
    }
    pair.upstream.write(chunk);
  }

  #fromServer(pair: Pair, chunk: Buffer): void {
    const r = this.#active ? this.#random() : 1;
    const { close, truncate, delay } = this.#o.rates;
    if (r < close) {
      if (this.#fault('close', pair, `close instead of ${chunk.length} bytes to the client`)) return this.#kill(pair);
    } else if (r < close + truncate && chunk.length > 1) {
      const keep = 1 + Math.floor(this.#random() * (chunk.length - 1));
      if (this.#fault('truncate', pair, `truncate ${chunk.length} bytes to ${keep}`)) {
        pair.upstream.pause();
        pair.client.write(chunk.subarray(0, keep), () => this.#kill(pair));
        return;
      }
    } else if (r < close + truncate + delay) {
      const [lo, hi] = this.#o.delayMs;
      const ms = Math.round(lo + this.#random() * (hi - lo));
      if (this.#fault('delay', pair, `delay ${chunk.length} bytes by ${ms} ms`)) {
        // Pausing holds back every later chunk too, so order is kept.
        pair.upstream.pause();
        this.#after(ms, () => {
          if (pair.client.destroyed) return;
          pair.client.write(chunk);
          pair.upstream.resume();
        });
        return;
      }
    }
    pair.client.write(chunk);
  }

  #onTick(): void {
    if (!this.#active) return;
    const { reap, refuseUpgrades } = this.#o.rates;
    if (this.#pairs.size && this.#chance(reap)) {
      const live = [...this.#pairs];
      const pair = live[Math.floor(this.#random() * live.length)]!;
      if (this.#fault('reap', pair, 'reset a live connection')) this.#kill(pair);
    }
    if (Date.now() >= this.#refuseUntil && this.#chance(refuseUpgrades)) {
      const [lo, hi] = this.#o.refuseMs;
      const ms = Math.round(lo + this.#random() * (hi - lo));
      if (this.#fault('refuseWindows', undefined, `refuse WebSocket upgrades for ${ms} ms`)) this.#refuseUntil = Date.now() + ms;
    }
  }

  // ---- plumbing ---------------------------------------------------------

  #chance(rate: keyof ChaosRates | number): boolean {
    if (!this.#active) return false;
    return this.#random() < (typeof rate === 'number' ? rate : this.#o.rates[rate]);
  }

  /** Count and log a fault; false (do nothing) once the window or the budget is over. */
  #fault(kind: keyof FaultCounts, pair: Pair | undefined, what: string): boolean {
    if (!this.#active) return false;
    const total = this.faults.close + this.faults.reap + this.faults.delay + this.faults.truncate + this.faults.refused;
    if (kind !== 'refuseWindows' && total >= this.#o.maxFaults) {
      this.calm();
      return false;
    }
    this.faults[kind]++;
    this.#note(pair ? `#${pair.id} ${what}` : what);
    return true;
  }

  #note(what: string): void {
    if (this.log.length >= LOG_LIMIT) this.log.shift();
    this.log.push(`+${this.#startedAt ? Date.now() - this.#startedAt : 0} ${what}`);
  }

  /** Reset both sockets (RST where possible: an abrupt drop, not a polite FIN). */
  #kill(pair: Pair): void {
    if (!this.#pairs.delete(pair)) return;
    for (const s of [pair.client, pair.upstream]) {
      if (s.destroyed) continue;
      try {
        if (s.readyState === 'opening') s.destroy();
        else s.resetAndDestroy();
      } catch {
        s.destroy();
      }
    }
  }

  #after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.#timers.add(t);
  }
}

/** Start a chaos proxy in front of `targetPort`; faults begin at `start()`. */
export function startChaosProxy(options: ChaosOptions): Promise<ChaosProxy> {
  return new Proxy(options).listen();
}
