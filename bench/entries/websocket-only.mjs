// Tree-shaking probe for `npm run bench`: an app that ships only the WebSocket transport.
import { CometClient, websocketTransport } from '../../src/index.ts';

export const connect = (url) => new CometClient({ url, transports: [websocketTransport] });
