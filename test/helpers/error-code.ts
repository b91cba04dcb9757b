// The code of the CometError a call throws, for tests of input validation:
// undefined when it does not throw, 'not a CometError' for any other error.
import { isCometError } from '../../src/errors.js';

export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isCometError(e) ? e.code : 'not a CometError';
  }
  return undefined;
}
