/** A listener; its return value is ignored. */
export type Listener<T> = (payload: T) => void;

/**
 * A tiny typed event emitter (after developit/mitt): one payload per event,
 * `on()` returns its own disposer, and `emit` iterates a copy so a listener
 * that removes itself (or adds another) is safe. A listener that throws does
 * not stop the others; the error goes to `onListenerError`.
 */
export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();
  readonly #onListenerError: (error: unknown, type: keyof Events) => void;

  constructor(onListenerError: (error: unknown, type: keyof Events) => void) {
    this.#onListenerError = onListenerError;
  }

  /** Listen; call the returned function to stop. */
  on<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => void set.delete(listener as Listener<never>);
  }

  emit<K extends keyof Events>(type: K, payload: Events[K]): void {
    for (const listener of [...(this.#listeners.get(type) ?? [])]) {
      try {
        (listener as Listener<Events[K]>)(payload);
      } catch (error) {
        this.#onListenerError(error, type);
      }
    }
  }
}
