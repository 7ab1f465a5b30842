/** Publish and playback authorization through the running gateway with a real ffmpeg. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { mintToken, subjectOf, unixNow } from '../../src/auth/token.js';
import { untilUpdate } from '../helpers/events.js';
import { fixture } from '../helpers/fixtures.js';
import { fetchText, publish, startTestGateway } from '../helpers/gateway.js';
import { parseM3u8 } from '../helpers/m3u8.js';
import { run } from '../helpers/process.js';
import { ffprobePath } from '../helpers/tools.js';

const SECRET = 'a-publish-secret-of-some-length';
const PLAY = 'a-playback-secret-of-some-length';

async function publishesOk(url: string): Promise<boolean> {
  const p = publish(await fixture('av360p-short'), url, { realtime: false });
  return (await p.done) === 0;
}

describe('publish authorization', () => {
  it('token mode: no token and a tampered or expired one are refused, a valid one publishes', async () => {
    const gw = await startTestGateway({ publishAuth: 'token', publishSecret: SECRET });
    try {
      const base = `rtmp://127.0.0.1:${gw.rtmpPort}/live/cam`;
      const good = mintToken({ secret: SECRET, subject: subjectOf('publish', 'live', 'cam'), expiresAt: unixNow() + 600 });
      const expired = mintToken({ secret: SECRET, subject: subjectOf('publish', 'live', 'cam'), expiresAt: unixNow() - 1 });
      expect(await publishesOk(base)).toBe(false);
      expect(await publishesOk(`${base}?token=${good.slice(0, -2)}xx`)).toBe(false);
      expect(await publishesOk(`${base}?token=${expired}`)).toBe(false);
      expect(gw.outputs.get('live', 'cam')).toBeUndefined();
      expect(await publishesOk(`${base}?token=${good}`)).toBe(true);
      expect(gw.outputs.get('live', 'cam')).toBeDefined();
    } finally {
      await gw.stop();
    }
  });

  it('keys mode: NAME?key=SECRET publishes as NAME, the secret never in the playback URL', async () => {
    const gw = await startTestGateway({ publishAuth: 'keys', publishKeys: ['s3cret-key'] });
    try {
      expect(await publishesOk(`rtmp://127.0.0.1:${gw.rtmpPort}/live/show?key=wrong`)).toBe(false);
      expect(await publishesOk(`rtmp://127.0.0.1:${gw.rtmpPort}/live/show?key=s3cret-key`)).toBe(true);
      const master = await fetchText(`http://127.0.0.1:${gw.httpPort}/live/show/index.m3u8`);
      expect(master.status).toBe(200);
      expect(master.text).not.toContain('s3cret');
    } finally {
      await gw.stop();
    }
  });

  it('webhook mode: 2xx allows, 403 refuses, a webhook that never answers times out and refuses', async () => {
    const calls: string[] = [];
    const hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        calls.push(body);
        const name = new URLSearchParams(body).get('name');
        if (name === 'slow') return; // never answers
        res.statusCode = name === 'allowed' ? 200 : 403;
        res.end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/on_publish`;
    const gw = await startTestGateway({ publishAuth: 'webhook', onPublishUrl: url, webhookTimeout: 0.5 });
    try {
      expect(await publishesOk(`rtmp://127.0.0.1:${gw.rtmpPort}/live/allowed`)).toBe(true);
      expect(await publishesOk(`rtmp://127.0.0.1:${gw.rtmpPort}/live/denied`)).toBe(false);
      expect(await publishesOk(`rtmp://127.0.0.1:${gw.rtmpPort}/live/slow`)).toBe(false);
      expect(calls.some((c) => c.includes('call=publish') && c.includes('name=allowed'))).toBe(true);
    } finally {
      await gw.stop();
      hook.closeAllConnections();
      hook.close();
    }
  });
});

describe('playback authorization', () => {
  it('needs a playback token everywhere and carries it into every URI', async () => {
    const gw = await startTestGateway({ playbackSecret: PLAY });
    try {
      const live = new Promise<void>((resolve) => gw.streams.once('publish', () => resolve()));
      const p = publish(await fixture('av360p-short'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/paid`, { loop: true });
      await live;
      const video = gw.outputs.get('live', 'paid')!.videos.get('src')!;
      await untilUpdate(video, () => video.segments.length >= 1);
      const http = `http://127.0.0.1:${gw.httpPort}/live/paid`;
      const token = mintToken({ secret: PLAY, subject: subjectOf('play', 'live', 'paid'), expiresAt: unixNow() + 600 });
      expect((await fetchText(`${http}/index.m3u8`)).status).toBe(403);
      expect((await fetchText(`${http}/index.m3u8?token=${token}x`)).status).toBe(403);
      const master = await fetchText(`${http}/index.m3u8?token=${token}`);
      expect(master.status).toBe(200);
      const m = parseM3u8(master.text);
      expect(m.playlists!.every((v) => v.uri.includes(`token=${token}`))).toBe(true);
      const media = parseM3u8((await fetchText(`${http}/${m.playlists![0]!.uri}`)).text);
      expect(media.segments.every((s) => s.uri.includes(`token=${token}`) && s.map!.uri.includes(`token=${token}`))).toBe(true);
      const seg = media.segments[0]!.uri;
      expect((await fetch(`${http}/src/${seg}`)).status).toBe(200);
      expect((await fetch(`${http}/src/${seg.split('?')[0]}`)).status).toBe(403);
      expect((await fetch(`http://127.0.0.1:${gw.httpPort}/live/paid.flv`)).status).toBe(403);
      const mpd = await fetchText(`${http}/index.mpd?token=${token}`);
      expect(mpd.text).toContain(`token=${token}`);
      const denied = await run(ffprobePath(), ['-v', 'error', `rtmp://127.0.0.1:${gw.rtmpPort}/live/paid`], 30_000);
      expect(denied.code).not.toBe(0);
      const allowed = await run(ffprobePath(), ['-v', 'error', '-show_streams', `rtmp://127.0.0.1:${gw.rtmpPort}/live/paid?token=${token}`], 30_000);
      expect(allowed.code).toBe(0);
      p.process.kill('SIGKILL');
    } finally {
      await gw.stop();
    }
  });
});
