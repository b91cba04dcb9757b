import type { TransportName } from './protocol/message.js';
import type { Platform } from './platform.js';

/** How long "this transport worked here" is trusted. */
const LAST_TTL = 24 * 3600_000;
/** How long a transport that kept dying soon after opening stays demoted. */
const DEMOTE_TTL = 3600_000;
/**
 * A transport that dies within this long of connecting counts a strike against it; the
 * client's reconnect backoff starts afresh only once a link has held this long.
 */
export const SOON = 10_000;

/** What is stored per endpoint. */
interface Memo {
  last?: TransportName | undefined;
  at?: number;
  demoted?: Partial<Record<TransportName, number>>;
}

/** Per-endpoint memory of transports; see {@link transportMemory}. */
export interface TransportMemory {
  /** The transport that worked last, if recent. */
  readonly last: TransportName | undefined;
  /** True while `name` is demoted. */
  isDemoted(name: TransportName): boolean;
  /** `name` completed a connect: start there next time. */
  worked(name: TransportName): void;
  /** `name` died `lifetime` ms after it connected; two short lives in a row demote it. */
  died(name: TransportName, lifetime: number): void;
}

/**
 * Memory of transports for one endpoint, in `localStorage` when present: which
 * one worked last (start there next time) and which ones keep dying soon after
 * opening (demoted for an hour: Faye never downgrades, and that is its
 * best-known failure). Disabled, it remembers nothing.
 */
export function transportMemory(endpoint: URL, platform: Platform, enabled: boolean): TransportMemory {
  const key = 'cometkit:' + endpoint.href;
  const strikes: Partial<Record<TransportName, number>> = {};
  let storage: Platform['storage'];
  let memo: Memo = {};
  try {
    // Without localStorage (Node, sandboxed frames) memory lasts until disconnect(), which #start renews.
    storage = enabled ? platform.storage : undefined;
    // Nothing stored, or no storage: JSON.parse(null) is null, which Object() makes {}. (Not undefined,
    // which is no JSON: a SyntaxError thrown on every connect would stop a debugger that pauses on caught ones.)
    memo = Object(JSON.parse(storage?.getItem(key) ?? 'null'));
  } catch {
    // Corrupt, absent or inaccessible storage must never stop a connection.
  }
  const save = () => {
    try {
      storage?.setItem(key, JSON.stringify(memo));
    } catch {
      // Quota exceeded or storage disabled: memory is an optimisation only.
    }
  };
  return {
    get last() {
      return platform.now() - (memo.at ?? 0) < LAST_TTL ? memo.last : undefined;
    },
    isDemoted: (name) => (memo.demoted?.[name] ?? 0) > platform.now(),
    worked(name) {
      memo.last = name;
      memo.at = platform.now();
      save();
    },
    died(name, lifetime) {
      const n = (strikes[name] = lifetime < SOON ? (strikes[name] ?? 0) + 1 : 0);
      if (n < 2) return;
      strikes[name] = 0;
      // Object(): stored garbage (a string, a number) must not throw here, in the middle of a reconnect.
      (memo.demoted = Object(memo.demoted))[name] = platform.now() + DEMOTE_TTL;
      if (memo.last === name) memo.last = undefined;
      save();
    },
  };
}
