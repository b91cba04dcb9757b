import type { Message } from '../protocol/message.js';
import type { Connection } from './connection.js';
import type { Clock } from './engine-options.js';

/**
 * A `/meta/connect` waiting to be answered. It is also a node of the list of
 * holds of its length (`prev`/`next`), so timing it out costs no timer of its own.
 */
export class Held {
  /** Polling: resolves the request with the reply and any deliveries. */
  resolve: ((messages: Message[]) => void) | undefined = undefined;
  /** WebSocket: the reply is written to this connection. */
  connection: Connection | undefined = undefined;
  /** When `Holds` releases it (clock time). */
  deadline = 0;
  prev: Held | null = null;
  next: Held | null = null;

  constructor(
    readonly reply: Message,
    /** Answers it when its time is up (the session's `Link`). */
    readonly owner: { release(held: Held): void },
  ) {}
}

/** The sentinel of a `HoldList`, which knows its list: emptying a list then costs no search of the others. */
class Head extends Held {
  constructor(readonly list: HoldList) {
    super({ channel: '' }, { release: () => {} });
  }
}

/** Held connects of one length, oldest first: deadlines only grow along it. */
class HoldList {
  /** Sentinel of a circular list: `head.next` is the oldest. */
  readonly head: Head = new Head(this);
  timer: unknown = null;
  /** The deadline `timer` was armed for. */
  armedFor = 0;

  constructor(readonly ms: number) {
    this.head.prev = this.head.next = this.head;
  }
}

/**
 * Times out held connects with one timer per hold length instead of one per
 * connect: 10k clients holding a 30 s connect cost 10k list links, not 10k
 * timers and closures. Almost every connect is held for the server's `timeout`,
 * so there are one or two lists.
 */
export class Holds {
  readonly #lists = new Map<number, HoldList>();

  constructor(readonly clock: Clock) {}

  /** Release `held` through its owner after `ms`, unless it is removed first. */
  add(held: Held, ms: number): void {
    this.remove(held);
    let list = this.#lists.get(ms);
    if (!list) this.#lists.set(ms, (list = new HoldList(ms)));
    held.deadline = this.clock.now() + ms;
    const last = list.head.prev!;
    held.prev = last;
    held.next = list.head;
    last.next = held;
    list.head.prev = held;
    if (list.timer === null) this.#arm(list);
  }

  /** Stop timing `held` (it was answered or dropped). */
  remove(held: Held): void {
    if (!held.prev) return;
    held.prev.next = held.next;
    held.next!.prev = held.prev;
    // An emptied list stops its timer (a later first hold would be timed by a stale one otherwise).
    if (held.next === held.prev && held.next instanceof Head) this.#stop(held.next.list);
    held.prev = held.next = null;
  }

  /** Stop every timer (the holds themselves are released by their owners). */
  clear(): void {
    for (const list of this.#lists.values()) this.clock.clearTimeout(list.timer);
    this.#lists.clear();
  }

  /**
   * Stop the timer of an emptied list and forget it. Found from its sentinel, not by
   * a search: clients choose their hold lengths (`advice.timeout`), so there can be as
   * many lists as held connects, and a search per removal made releasing them quadratic.
   */
  #stop(list: HoldList): void {
    this.clock.clearTimeout(list.timer);
    list.timer = null;
    if (this.#lists.get(list.ms) === list) this.#lists.delete(list.ms);
  }

  #arm(list: HoldList): void {
    const first = list.head.next!;
    if (first === list.head) {
      // Empty: forget the list until a connect of that length comes again.
      list.timer = null;
      if (this.#lists.get(list.ms) === list) this.#lists.delete(list.ms);
      return;
    }
    list.armedFor = first.deadline;
    list.timer = this.clock.setTimeout(() => this.#fire(list), Math.max(0, first.deadline - this.clock.now()));
  }

  #fire(list: HoldList): void {
    list.timer = null;
    // The timer was armed for a deadline: holds up to it are due even if the clock disagrees (a fake one in tests).
    const due = Math.max(this.clock.now(), list.armedFor);
    for (let held = list.head.next!; held !== list.head && held.deadline <= due; held = list.head.next!) {
      this.remove(held);
      held.owner.release(held);
    }
    this.#arm(list);
  }
}
