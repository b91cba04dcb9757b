/** How reconnect delays grow. */
export interface BackoffOptions {
  /** First delay before jitter, ms. @default 500 */
  initialDelay: number;
  /** Cap, ms. @default 30000 */
  maxDelay: number;
  /** Growth per failed attempt. @default 2 */
  factor: number;
  /** Full jitter: a uniform random share of the delay, so a crowd of clients that
   * lost the same server does not come back in lockstep. @default true */
  jitter: boolean;
}

/**
 * Delay before reconnect attempt `attempt` (0-based): exponential, capped, with
 * full jitter ("Exponential Backoff And Jitter", AWS Architecture Blog, 2015).
 */
export function backoffDelay(attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(o.maxDelay, o.initialDelay * o.factor ** attempt);
  return Math.round(o.jitter ? random() * ceiling : ceiling);
}
