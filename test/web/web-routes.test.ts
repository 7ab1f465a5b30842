import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SegmentCache } from '../../src/cache/segment-cache.js';
import { StreamRegistry } from '../../src/core/stream.js';
import { findProjectRoot } from '../../src/http/web-routes.js';
import { OutputRegistry } from '../../src/packager/output-registry.js';
import { RelayRegistry } from '../../src/relay/relay-registry.js';
import { composeApp, type ComposedApp } from './compose.js';

let app: ComposedApp;
let outputs: OutputRegistry;

beforeAll(async () => {
  const streams = new StreamRegistry();
  const cache = new SegmentCache(1 << 24);
  outputs = new OutputRegistry(streams, { segmentDuration: 2, partDuration: 0.2, playlistWindow: 6, endedStreamTtl: 60 }, cache);
  app = await composeApp({ streams, outputs, cache, relays: new RelayRegistry(streams), rtmpPort: 19350 });
});
afterAll(async () => {
  outputs.close();
  await app.close();
});

function assetUrls(html: string): string[] {
  return [...html.matchAll(/(?:src|href|content)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
}

describe('web routes', () => {
  it('finds the project root from the module', () => {
    expect(findProjectRoot()).toBe(process.cwd());
  });

  it('GET / serves the page naming every asset, with the RTMP port', async () => {
    const res = await fetch(`${app.origin}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const html = await res.text();
    expect(html).not.toMatch(/\{\{/);
    expect(html).toContain('<meta name="streamgate-rtmp-port" content="19350">');
    const urls = assetUrls(html);
    expect(urls).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\/assets\/app-[0-9a-f]{12}\.js$/),
        expect.stringMatching(/^\/assets\/style-[0-9a-f]{12}\.css$/),
        expect.stringMatching(/^\/assets\/hls\.js@[\d.]+\/hls\.min\.js$/),
        expect.stringMatching(/^\/assets\/dashjs@[\d.]+\/dash\.all\.min\.js$/),
        expect.stringMatching(/^\/assets\/mpegts\.js@[\d.]+\/mpegts\.js$/),
      ]),
    );
  });

  it('serves the assets with their types and a year of caching', async () => {
    const html = await (await fetch(`${app.origin}/`)).text();
    for (const url of assetUrls(html)) {
      const res = await fetch(`${app.origin}${url}`);
      expect(res.status, url).toBe(200);
      expect(res.headers.get('content-type'), url).toBe(url.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    }
  });

  it('serves the player page for /watch/APP/KEY and 404s unknown assets and bad names', async () => {
    const watch = await fetch(`${app.origin}/watch/live/cam?embed=1`);
    expect(watch.status).toBe(200);
    expect(await watch.text()).toContain('id="watch-view"');
    expect((await fetch(`${app.origin}/assets/nope.js`)).status).toBe(404);
    expect((await fetch(`${app.origin}/assets/../package.json`)).status).toBe(404);
    expect((await fetch(`${app.origin}/watch/live/..`)).status).toBe(404);
  });

  it('/metrics answers in the Prometheus text format and saw the web requests', async () => {
    const res = await fetch(`${app.origin}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/^streamgate_http_requests_total\{route="web",status="200"\} \d+$/m);
    expect(text).toMatch(/^streamgate_streams_live 0$/m);
  });
});
