import type { TransportName } from './protocol/message.js';
import type { Platform } from './platform.js';

/** How long "this transport worked here" is trusted. */
const LAST_TTL = 24 * 3600_000;
/** How long a transport that kept dying soon after opening stays demoted. */
const DEMOTE_TTL = 3600_000;
/** Deaths soon after opening that demote a transport. */
const STRIKES = 2;

interface Record_ {
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
 * opening (demote them; Faye never downgrades, and that is its best-known failure).
 */
export class TransportMemory {
  readonly #key: string;
  readonly #storage: Pick<Storage, 'getItem' | 'setItem'> | undefined;
  readonly #now: () => number;

  constructor(endpoint: URL, platform: Platform, enabled: boolean) {
    this.#key = `cometkit:${endpoint.href}`;
    this.#storage = enabled ? platform.storage : undefined;
    this.#now = platform.now;
  }

  /** The transport that worked last, if recent. */
  get last(): TransportName | undefined {
    const r = this.#read();
    return r.last && this.#now() - (r.at ?? 0) < LAST_TTL ? r.last : undefined;
  }

  /** True while `name` is demoted. */
  isDemoted(name: TransportName): boolean {
    return (this.#read().demoted?.[name] ?? 0) > this.#now();
  }

  /** `name` completed a connect: start there next time. */
  worked(name: TransportName): void {
    this.#write({ ...this.#read(), last: name, at: this.#now() });
  }

  /** `name` died `lifetime` ms after it connected; short lives count as strikes. */
  died(name: TransportName, lifetime: number, soon: number): void {
    const r = this.#read();
    const strikes = { ...r.strikes };
    strikes[name] = lifetime < soon ? (strikes[name] ?? 0) + 1 : 0;
    const demoted = { ...r.demoted };
    if ((strikes[name] ?? 0) >= STRIKES) {
      demoted[name] = this.#now() + DEMOTE_TTL;
      strikes[name] = 0;
      if (r.last === name) delete r.last;
    }
    this.#write({ ...r, strikes, demoted });
  }

  #read(): Record_ {
    try {
      const text = this.#storage ? this.#storage.getItem(this.#key) : fallback.get(this.#key);
      const value: unknown = text ? JSON.parse(text) : {};
      return value && typeof value === 'object' ? (value as Record_) : {};
    } catch {
      return {}; // corrupt or inaccessible storage must never stop a connection
    }
  }

  #write(r: Record_): void {
    const text = JSON.stringify(r);
    try {
      if (this.#storage) this.#storage.setItem(this.#key, text);
      else fallback.set(this.#key, text);
    } catch {
      // Quota exceeded or storage disabled: memory is an optimisation only.
    }
  }
}
