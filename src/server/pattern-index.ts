/**
 * Client ids by subscription pattern, looked up by concrete channel in time
 * linear in the channel's length. Listing every pattern that can match a channel
 * (`/a/b`, `/a/*`, `/a/**`, `/**`) builds one string per segment, each as long as the channel: a
 * 1,024-character channel of 500 segments made 260 KB of strings per publish, so
 * one 4 MB batch of such publishes took seconds of CPU (and the memo of them
 * held ~280 MB). Here exact channels and `/a/*` patterns cost one lookup each,
 * and `/a/**` patterns live in a tree of segments that a publish walks once.
 */
export class PatternIndex {
  /** Exact channels and one-level wildcards (`/a/*`). */
  readonly #flat = new Map<string, Set<string>>();
  /** Deep wildcards: the ids at the node for segments `a`, `b` hold `/a/b/**` (the root's, `/**`). */
  readonly #deep = new Node();

  add(pattern: string, id: string): void {
    const base = deepBase(pattern);
    if (base === null) {
      let ids = this.#flat.get(pattern);
      if (!ids) this.#flat.set(pattern, (ids = new Set()));
      ids.add(id);
      return;
    }
    let node = this.#deep;
    for (const segment of base) {
      node.children ??= new Map();
      let child = node.children.get(segment);
      if (!child) node.children.set(segment, (child = new Node()));
      node = child;
    }
    (node.ids ??= new Set()).add(id);
  }

  delete(pattern: string, id: string): void {
    const base = deepBase(pattern);
    if (base === null) {
      const ids = this.#flat.get(pattern);
      if (ids?.delete(id) && ids.size === 0) this.#flat.delete(pattern);
      return;
    }
    const path: Node[] = [this.#deep];
    for (const segment of base) {
      const child = path[path.length - 1]!.children?.get(segment);
      if (!child) return;
      path.push(child);
    }
    const node = path[path.length - 1]!;
    if (!node.ids?.delete(id)) return;
    if (node.ids.size === 0) node.ids = null;
    // Prune the nodes left holding nothing, bottom up, so ended subscriptions leave no tree behind.
    for (let i = base.length; i > 0 && path[i]!.empty; i--) {
      const parent = path[i - 1]!;
      parent.children!.delete(base[i - 1]!);
      if (parent.children!.size === 0) parent.children = null;
    }
  }

  /** Every id holding a pattern that matches concrete `channel`, each once. */
  match(channel: string): string[] {
    const segments = channel.split('/'); // ['', 'a', 'b'] for '/a/b'
    const sets: Set<string>[] = [];
    const exact = this.#flat.get(channel);
    if (exact) sets.push(exact);
    const oneLevel = this.#flat.get(channel.slice(0, channel.lastIndexOf('/')) + '/*');
    if (oneLevel) sets.push(oneLevel);
    // `/a/**` matches `/a/b` and deeper, not `/a`: walk every segment but the last.
    let node: Node | undefined = this.#deep;
    for (let i = 1; node && i < segments.length; i++) {
      if (node.ids) sets.push(node.ids);
      node = node.children?.get(segments[i]!);
    }
    // The common case, one matching pattern: its ids are already distinct.
    if (sets.length <= 1) return [...(sets[0] ?? [])];
    const out = new Set<string>();
    for (const ids of sets) for (const id of ids) out.add(id);
    return [...out];
  }
}

/** A node of the deep-wildcard tree; fields are created only once they hold something. */
class Node {
  children: Map<string, Node> | null = null;
  ids: Set<string> | null = null;

  get empty(): boolean {
    return this.children === null && this.ids === null;
  }
}

/** The segments before a pattern's final `/**` (`[]` for `/**`), or `null` for any other pattern. */
export function deepBase(pattern: string): string[] | null {
  if (!pattern.endsWith('/**')) return null;
  return pattern === '/**' ? [] : pattern.slice(1, -3).split('/');
}
