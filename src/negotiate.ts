import type { Platform } from './platform.js';
import type { TransportName } from './protocol/message.js';
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
  memory: { last?: TransportName | undefined; isDemoted(name: TransportName): boolean },
): TransportFactory[] {
  const last = memory.last;
  const rank = (t: TransportFactory) => (memory.isDemoted(t.name) ? 2 : t.name === last ? 0 : 1);
  // Array.prototype.sort is stable, so preference order holds within a rank.
  return preferred
    .filter((t) => (!serverTypes || serverTypes.includes(t.connectionType)) && t.isSupported(platform))
    .sort((a, b) => rank(a) - rank(b));
}

/** A running race; the client reports each runner's outcome to it. */
export interface Race<L> {
  /** A runner completed its first connect: it wins (true; the caller promotes it), the others stop. False when `link` is not a runner. */
  connected(link: L): boolean;
  /** A runner failed before connecting (`reason` says why; the caller has closed it): start the next at once. False when `link` is not a runner. */
  failed(link: L, reason: string): boolean;
  /** Stop every runner and timer. */
  close(): void;
}

/**
 * A staggered race (Happy Eyeballs, RFC 8305): start the first transport; start
 * the next one when the running ones have not connected within `fallbackDelay`,
 * or as soon as one fails; the first to complete a `/meta/connect` wins (its
 * `connected` is true) and every other is closed. `start` opens a runner; `lost` is called,
 * with the reasons, when every candidate failed. Call `begin` after storing the race,
 * so no runner reports to a caller that does not know it yet.
 * Once the race is over (won, lost or closed) `running` is empty and stays so,
 * so a late report finds no runner and does nothing. The fallback timer runs on `platform`'s clock.
 */
export function race<L extends { close(): void }>(
  candidates: readonly TransportFactory[],
  start: (factory: TransportFactory) => L,
  /** Every candidate failed; `reasons` are what each runner's `failed` said, in the order they failed. */
  lost: (reasons: string[]) => void,
  platform: Pick<Platform, 'setTimeout' | 'clearTimeout'>,
  fallbackDelay: number,
): Race<L> & { begin(): void } {
  const queue = [...candidates];
  const running = new Set<L>();
  const reasons: string[] = [];
  let timer: unknown;
  const next = () => {
    platform.clearTimeout(timer);
    const factory = queue.shift();
    if (factory) {
      running.add(start(factory));
      if (queue.length) timer = platform.setTimeout(next, fallbackDelay);
    } else if (!running.size) lost(reasons);
  };
  const self = {
    begin: next,
    connected(link: L) {
      if (!running.delete(link)) return false;
      self.close();
      return true;
    },
    failed(link: L, reason: string) {
      if (!running.delete(link)) return false;
      reasons.push(reason); // a failed runner is closed already, by whoever saw it fail
      next();
      return true;
    },
    close() {
      platform.clearTimeout(timer);
      running.forEach((link) => link.close());
      running.clear();
    },
  };
  return self;
}
