/**
 * HTTP/2 requests through the same handlers as HTTP/1.1.
 *
 * Node's HTTP/2 compatibility API (`Http2ServerRequest` / `Http2ServerResponse`) offers the
 * methods our fast paths use, but express sets the prototype of every request and response to
 * its own objects, which inherit from `http.IncomingMessage` / `http.ServerResponse`: an HTTP/2
 * request then reads its body and headers through HTTP/1 internals and fails. Here the express
 * request and response methods are laid over the HTTP/2 prototypes instead, once, and express
 * is entered through a view of the app that uses them (express's `app.handle` takes the
 * prototypes from `this.request` / `this.response`).
 *
 * HTTP/2 differences smoothed over for our code:
 *  - the Host header is `:authority` (RFC 9113 §8.3.1); `req.headers.host` is filled from it;
 *  - `res.destroyed` is the stream's.
 */
import { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Express } from 'express';

export type Http1Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface ExpressInternals {
  request: object;
  response: object;
  handle(req: unknown, res: unknown): void;
}

/** Own property descriptors of express's request/response methods (one level above `app.request`). */
function expressMethods(appLevel: object): PropertyDescriptorMap {
  return Object.getOwnPropertyDescriptors(Object.getPrototypeOf(appLevel) as object);
}

/**
 * A handler for the secure server's requests: HTTP/2 ones get the express methods, then both
 * kinds go to `handler` (the same one plain HTTP uses). `handler` receives them typed as HTTP/1 objects: every member our
 * HTTP code uses exists on both.
 */
export function http2Handler(app: Express, handler: (req: IncomingMessage, res: ServerResponse, enterExpress: Http1Handler) => void): (req: Http2ServerRequest, res: Http2ServerResponse) => void {
  const internals = app as unknown as ExpressInternals;
  const request = Object.create(Http2ServerRequest.prototype, { ...expressMethods(internals.request), app: { value: app, configurable: true, enumerable: true, writable: true } }) as object;
  const response = Object.create(Http2ServerResponse.prototype, {
    ...expressMethods(internals.response),
    app: { value: app, configurable: true, enumerable: true, writable: true },
    destroyed: {
      get(this: Http2ServerResponse): boolean {
        return this.stream?.destroyed ?? true;
      },
      configurable: true,
    },
  }) as object;
  // express's own app, seen with the HTTP/2 prototypes (settings, router and handlers shared).
  const view = Object.create(app, { request: { value: request }, response: { value: response } }) as ExpressInternals;
  const enterExpress: Http1Handler = (req, res) => view.handle(req, res);
  return (req, res) => {
    // With allowHTTP1, HTTP/1.1 clients of the secure server arrive here as plain HTTP/1 objects.
    if (!(req instanceof Http2ServerRequest)) {
      handler(req as unknown as IncomingMessage, res as unknown as ServerResponse, app as unknown as Http1Handler);
      return;
    }
    if (req.headers.host === undefined && req.authority) req.headers.host = req.authority;
    Object.setPrototypeOf(req, request);
    Object.setPrototypeOf(res, response);
    handler(req as unknown as IncomingMessage, res as unknown as ServerResponse, enterExpress);
  };
}
