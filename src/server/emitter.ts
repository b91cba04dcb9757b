/**
 * A tiny typed emitter for the server's events: one payload object per event,
 * `on()` returns the function that removes the listener, and `emit` iterates a
 * copy so a listener that removes itself is safe. A throwing listener must not
 * break the request that triggered it, so errors go to `onError`.
 */
export class Emitter<Events extends object> {
  #listeners = new Map<keyof Events, Set<(payload: never) => void>>();

  constructor(readonly onError: (error: unknown) => void = () => {}) {}

  /** Listen to `event`; returns a function that stops listening. */
  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => {
      set.delete(listener as (payload: never) => void);
    };
  }

  /** Call every listener of `event` with `payload`. */
  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as (payload: Events[K]) => void)(payload);
      } catch (error) {
        this.onError(error);
      }
    }
  }

  /** Drop every listener. */
  clear(): void {
    this.#listeners.clear();
  }
}
