import type { Platform } from './platform.js';
import type { TransportMemory } from './transport-memory.js';
import type { TransportFactory } from './transports/transport.js';

/**
 * The order to try transports in: the user's preference, kept only where the
 * server offers the connection type (when it said) and this environment can
 * run it; the one that worked last moves to the front, demoted ones to the back.
 */
export function orderTransports(
  preferred: readonly TransportFactory[],
  serverTypes: readonly string[] | undefined,
  platform: Platform,
  memory: Pick<TransportMemory, 'last' | 'isDemoted'>,
): TransportFactory[] {
  const usable = preferred.filter(
    (t) => (!serverTypes || serverTypes.includes(t.connectionType)) && t.isSupported(platform),
  );
  const last = memory.last;
  const rank = (t: TransportFactory) => (memory.isDemoted(t.name) ? 2 : t.name === last ? 0 : 1);
  // Array.prototype.sort is stable, so preference order holds within a rank.
  return usable.sort((a, b) => rank(a) - rank(b));
}

/** What a {@link Race} needs from the client. */
export interface RaceHost<L> {
  start(factory: TransportFactory): L;
  stop(link: L): void;
  won(link: L): void;
  lost(): void;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * A staggered race (Happy Eyeballs, RFC 8305): start the first transport; start
 * the next one when the running ones have not connected within `fallbackDelay`
 * or as soon as one fails; the first to complete a `/meta/connect` wins and
 * every other is stopped. `lost` is called when every candidate has failed.
 */
export class Race<L> {
  readonly #candidates: TransportFactory[];
  readonly #running = new Set<L>();
  #timer: unknown;
  #done = false;

  constructor(
    candidates: readonly TransportFactory[],
    private readonly host: RaceHost<L>,
    private readonly fallbackDelay: number,
  ) {
    this.#candidates = [...candidates];
  }

  /** Start the first runner. Separate from the constructor so the host holds the race before any callback. */
  start(): this {
    this.#next();
    return this;
  }

  /** True while `link` is one of this race's runners. */
  has(link: L): boolean {
    return this.#running.has(link);
  }

  /** A runner completed its first connect. */
  connected(link: L): void {
    if (this.#done || !this.#running.delete(link)) return;
    this.cancel();
    this.host.won(link);
  }

  /** A runner failed before connecting. */
  failed(link: L): void {
    if (this.#done || !this.#running.delete(link)) return;
    this.host.stop(link);
    this.#next();
  }

  /** Stop every runner and timer. */
  cancel(): void {
    this.#done = true;
    this.host.clearTimeout(this.#timer);
    for (const link of this.#running) this.host.stop(link);
    this.#running.clear();
  }

  #next(): void {
    this.host.clearTimeout(this.#timer);
    const factory = this.#candidates.shift();
    if (!factory) {
      if (!this.#running.size) {
        this.#done = true;
        this.host.lost();
      }
      return;
    }
    this.#running.add(this.host.start(factory));
    if (this.#candidates.length) this.#timer = this.host.setTimeout(() => this.#next(), this.fallbackDelay);
  }
}
