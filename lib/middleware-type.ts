/**
 * A request handler as every framework this package is mounted on calls it: Express 4 and 5, Connect, or plain
 * node:http. Each passes its own request and response types (Express's Request and Response, node's
 * IncomingMessage and ServerResponse, ...). Implementations type them as node's IncomingMessage and
 * ServerResponse, which every framework's objects are.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each framework's own req/res types must fit
export type Middleware = (req: any, res: any, next: (err?: unknown) => void) => Promise<void>;
