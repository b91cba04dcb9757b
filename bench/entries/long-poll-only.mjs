// Tree-shaking probe for `npm run bench`: an app that ships only the long-polling transport.
import { CometClient, longPollTransport } from '../../src/index.ts';

export const connect = (url) => new CometClient({ url, transports: [longPollTransport] });
