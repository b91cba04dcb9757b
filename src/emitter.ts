/** A listener; its return value is ignored. */
export type Listener<T> = (payload: T) => void;

/** No listeners: shared, so an event nobody listens to (most `message`s) allocates nothing. */
const NONE: never[] = [];

/**
 * A tiny typed event emitter (after developit/mitt): one payload per event,
 * `on()` returns its own disposer, and a listener that throws does not stop
 * the others (the error goes to `onListenerError`). Each event's listeners are
 * an array replaced, never changed, when one is added or removed: `emit`
 * iterates the one it started with, so a listener that removes itself (or adds
 * another) is safe, and an event costs no copy (the client emits one per message).
 */
export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Array<Listener<never>>>();
  readonly #onListenerError: (error: unknown, type: keyof Events) => void;

  constructor(onListenerError: (error: unknown, type: keyof Events) => void) {
    this.#onListenerError = onListenerError;
  }

  /** Listen; call the returned function to stop. */
  on<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void {
    const map = this.#listeners;
    const others = () => (map.get(type) ?? []).filter((l) => l !== listener);
    // Added twice, a listener still runs once per event (as with a Set).
    map.set(type, [...others(), listener as Listener<never>]);
    return () => void map.set(type, others());
  }

  emit<K extends keyof Events>(type: K, payload: Events[K]): void {
    for (const listener of this.#listeners.get(type) ?? NONE) {
      try {
        (listener as Listener<Events[K]>)(payload);
      } catch (error) {
        this.#onListenerError(error, type);
      }
    }
  }
}
