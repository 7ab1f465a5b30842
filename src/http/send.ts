import type { Request, Response } from 'express';

export const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * Sends media pieces (a segment's `styp` and parts) without joining them: corked writes leave
 * the socket as one writev.
 */
export function sendChunks(
  req: Request,
  res: Response,
  chunks: readonly Uint8Array[],
  byteLength: number,
  contentType: string,
  etag: string,
  cacheControl = IMMUTABLE,
): void {
  res.setHeader('Content-Type', contentType);
  res.setHeader('Cache-Control', cacheControl);
  res.setHeader('ETag', etag);
  if (req.headers['if-none-match'] === etag) {
    res.status(304).end();
    return;
  }
  res.setHeader('Content-Length', String(byteLength));
  res.status(200);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  res.cork();
  for (const chunk of chunks) res.write(chunk);
  res.uncork();
  res.end();
}

export function sendText(res: Response, body: string, contentType: string, cacheControl: string): void {
  res.setHeader('Content-Type', contentType);
  res.setHeader('Cache-Control', cacheControl);
  res.status(200).send(body);
}
