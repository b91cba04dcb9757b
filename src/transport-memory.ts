import type { TransportName } from './protocol/message.js';
import type { Platform } from './platform.js';

/** How long "this transport worked here" is trusted. */
const LAST_TTL = 24 * 3600_000;
/** How long a transport that kept dying soon after opening stays demoted. */
const DEMOTE_TTL = 3600_000;

/** What is stored per endpoint: last transport and when, strikes and demotions per transport. */
interface Memo {
  last?: TransportName;
  at?: number;
  strikes?: Partial<Record<TransportName, number>>;
  demoted?: Partial<Record<TransportName, number>>;
}

// Without storage (Node, sandboxed frames) memory lasts as long as the page.
const fallback = new Map<string, string>();

/**
 * Per-endpoint memory of transports, in `localStorage` when present: which one
 * worked last (start there next time) and which ones keep dying soon after
 * opening (two strikes demote one for an hour; Faye never downgrades, and that
 * is its best-known failure).
 */
export class TransportMemory {
  readonly #key: string;
  readonly #storage: Pick<Storage, 'getItem' | 'setItem'> | undefined;
  readonly #now: () => number;

  constructor(endpoint: URL, platform: Platform, enabled: boolean) {
    this.#key = 'cometkit:' + endpoint.href;
    this.#storage = enabled ? platform.storage : undefined;
    this.#now = platform.now;
  }

  /** The transport that worked last, if recent. */
  get last(): TransportName | undefined {
    const m = this.#read();
    return this.#now() - (m.at ?? 0) < LAST_TTL ? m.last : undefined;
  }

  /** True while `name` is demoted. */
  isDemoted(name: TransportName): boolean {
    return (this.#read().demoted?.[name] ?? 0) > this.#now();
  }

  /** `name` completed a connect: start there next time. */
  worked(name: TransportName): void {
    this.#write({ ...this.#read(), last: name, at: this.#now() });
  }

  /** `name` died `lifetime` ms after it connected; a life shorter than `soon` is a strike. */
  died(name: TransportName, lifetime: number, soon: number): void {
    const m = this.#read();
    const strikes = { ...m.strikes, [name]: lifetime < soon ? (m.strikes?.[name] ?? 0) + 1 : 0 };
    if (strikes[name]! > 1) {
      m.demoted = { ...m.demoted, [name]: this.#now() + DEMOTE_TTL };
      strikes[name] = 0;
      if (m.last === name) m.last = undefined;
    }
    this.#write({ ...m, strikes });
  }

  #read(): Memo {
    try {
      const value: unknown = JSON.parse((this.#storage ? this.#storage.getItem(this.#key) : fallback.get(this.#key)) || '{}');
      return value && typeof value === 'object' ? (value as Memo) : {};
    } catch {
      return {}; // corrupt or inaccessible storage must never stop a connection
    }
  }

  #write(m: Memo): void {
    const text = JSON.stringify(m);
    try {
      if (this.#storage) this.#storage.setItem(this.#key, text);
      else fallback.set(this.#key, text);
    } catch {
      // Quota exceeded or storage disabled: memory is an optimisation only.
    }
  }
}
