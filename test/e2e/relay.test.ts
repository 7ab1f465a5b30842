/** RTMP play and HTTP-FLV: real ffmpeg/ffprobe read what a real ffmpeg publishes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import type { RunningGateway } from '../../src/gateway.js';
import { fixture } from '../helpers/fixtures.js';
import { publish, startTestGateway, type Publisher } from '../helpers/gateway.js';
import { run } from '../helpers/process.js';
import { clientTool, ffmpegPath, ffprobePath } from '../helpers/tools.js';
import { ClientHandshake } from '../../src/rtmp/handshake.js';
import { ChunkReader, ChunkWriter } from '../../src/rtmp/chunk.js';
import { decodeAmf0, encodeAmf0 } from '../../src/flv/amf0.js';
import { MessageType } from '../../src/rtmp/messages.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const rtmpdump = clientTool('rtmpdump');

let gw: RunningGateway;
let publisher: Publisher;

beforeAll(async () => {
  gw = await startTestGateway();
  const live = new Promise<void>((resolve) => gw.streams.on('publish', () => resolve()));
  publisher = publish(await fixture('av360p-short'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/relay`, { loop: true });
  await live;
  // Players join once a keyframe is cached: wait for the first complete segment.
  const video = gw.outputs.get('live', 'relay')!.videos.get('src')!;
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (video.segments.length > 0) {
        video.off('update', check);
        resolve();
      }
    };
    video.on('update', check);
    check();
  });
});
afterAll(async () => {
  publisher?.process.kill('SIGKILL');
  await gw?.stop();
});

interface ProbeOut {
  streams: { codec_type: string; codec_name: string; width?: number; height?: number; sample_rate?: string }[];
}

async function probeUrl(url: string): Promise<ProbeOut> {
  const r = await run(ffprobePath(), ['-v', 'error', '-print_format', 'json', '-show_streams', '-rw_timeout', '10000000', url], 30_000);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as ProbeOut;
}

describe('relay outputs', () => {
  it('ffprobe reads RTMP play: one H.264 and one AAC stream, no phantom data stream', async () => {
    const p = await probeUrl(`rtmp://127.0.0.1:${gw.rtmpPort}/live/relay`);
    expect(p.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
    const v = p.streams.find((s) => s.codec_type === 'video')!;
    expect(v.codec_name).toBe('h264');
    expect([v.width, v.height]).toEqual([640, 360]);
    expect(p.streams.find((s) => s.codec_type === 'audio')?.codec_name).toBe('aac');
  });

  it('ffprobe reads HTTP-FLV: one H.264 and one AAC stream', async () => {
    const p = await probeUrl(`http://127.0.0.1:${gw.httpPort}/live/relay.flv`);
    expect(p.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
    expect(p.streams.find((s) => s.codec_type === 'video')?.codec_name).toBe('h264');
    expect(p.streams.find((s) => s.codec_type === 'audio')?.codec_name).toBe('aac');
  });

  it('ffmpeg records 2 s of RTMP play that decodes cleanly', async () => {
    const r = await run(ffmpegPath(), ['-v', 'error', '-i', `rtmp://127.0.0.1:${gw.rtmpPort}/live/relay`, '-t', '2', '-f', 'null', '-'], 30_000);
    expect(r.code).toBe(0);
    expect(r.stderr.trim()).toBe('');
  });

  it('ffmpeg -i RTMP play -f null - (no stream limit, no -t on the input) finds no stream it cannot encode', async () => {
    const r = await run(ffmpegPath(), ['-v', 'error', '-i', `rtmp://127.0.0.1:${gw.rtmpPort}/live/relay`, '-frames:v', '30', '-f', 'null', '-'], 30_000);
    expect(r.code, r.stderr).toBe(0);
  });

  it.each(['rtmp', 'http-flv'])('ffmpeg -c copy records %s into an MP4 with exactly one H.264 and one AAC stream', async (kind) => {
    const url = kind === 'rtmp' ? `rtmp://127.0.0.1:${gw.rtmpPort}/live/relay` : `http://127.0.0.1:${gw.httpPort}/live/relay.flv`;
    const out = join(mkdtempSync(join(tmpdir(), 'sg-copy-')), 'out.mp4');
    const r = await run(ffmpegPath(), ['-v', 'error', '-i', url, '-t', '3', '-c', 'copy', out], 30_000);
    expect(r.code, r.stderr).toBe(0);
    const p = await probeUrl(out);
    expect(p.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    const decode = await run(ffmpegPath(), ['-v', 'error', '-i', out, '-f', 'null', '-'], 30_000);
    expect(decode.code).toBe(0);
    expect(decode.stderr.trim()).toBe('');
  });

  it.skipIf(!rtmpdump)('rtmpdump records RTMP play as FLV that ffprobe reads as one H.264 and one AAC stream', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'sg-rtmpdump-')), 'out.flv');
    // A live recording has no end of its own (rtmpdump's --stop is ignored with --live): it is
    // stopped with SIGTERM after 3 s, which rtmpdump handles by closing the file cleanly (exit 124 from timeout).
    const r = await run('timeout', ['-k', '5', '-s', 'TERM', '3', rtmpdump!, '-q', '--live', '-r', `rtmp://127.0.0.1:${gw.rtmpPort}/live/relay`, '-o', out], 20_000);
    expect(r.code, r.stderr).toBe(124);
    const p = await probeUrl(out);
    expect(p.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
  });

  it('an unknown stream is StreamNotFound over RTMP and 404 over HTTP-FLV', async () => {
    expect((await fetch(`http://127.0.0.1:${gw.httpPort}/live/nothing.flv`)).status).toBe(404);
    const r = await run(ffprobePath(), ['-v', 'error', `rtmp://127.0.0.1:${gw.rtmpPort}/live/nothing`], 30_000);
    expect(r.code).not.toBe(0);
  });

  it('50 RTMP players of one stream all receive video frames', async () => {
    const players = await Promise.all(Array.from({ length: 50 }, () => rtmpPlayUntilVideo(gw.rtmpPort, 'live', 'relay', 5)));
    expect(players.every((n) => n >= 5)).toBe(true);
  });
});

describe('end of stream', () => {
  it('HTTP-FLV responses end and RTMP players get UnpublishNotify when the publisher leaves', async () => {
    const live = new Promise<void>((resolve) => gw.streams.on('publish', (s) => s.key === 'short' && resolve()));
    const p = publish(await fixture('av360p-short'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/short`);
    await live;
    // A first part means frames (from a keyframe on) reached the relay's GOP cache too.
    await new Promise<void>((resolve) => gw.outputs.get('live', 'short')!.videos.get('src')!.once('part', () => resolve()));
    expect(gw.relays.get('live', 'short')!.start().gop.length).toBeGreaterThan(0);
    const flv = fetch(`http://127.0.0.1:${gw.httpPort}/live/short.flv`).then(async (r) => new Uint8Array(await r.arrayBuffer()));
    const statuses = rtmpPlayStatuses(gw.rtmpPort, 'live', 'short', 'NetStream.Play.UnpublishNotify');
    expect(await p.done).toBe(0);
    const body = await flv;
    expect(Buffer.from(body.subarray(0, 3)).toString()).toBe('FLV');
    expect(body.byteLength).toBeGreaterThan(10_000);
    expect(await statuses).toContain('NetStream.Play.UnpublishNotify');
  });
});

/** Collects onStatus codes of an RTMP play until `last` arrives. */
function rtmpPlayStatuses(port: number, app: string, key: string, last: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const hs = new ClientHandshake();
    const reader = new ChunkReader({ maxMessageSize: 16 * 1024 * 1024 });
    const writer = new ChunkWriter();
    const codes: string[] = [];
    let handshaken = false;
    const send = (type: number, streamId: number, payload: Uint8Array): void => {
      socket.write(writer.encode({ csid: 3, type, streamId, timestamp: 0, payload }));
    };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no ${last}: ${codes.join(',')}`));
    }, 30_000);
    socket.on('connect', () => socket.write(hs.start()));
    socket.on('error', reject);
    socket.on('data', (data: Buffer) => {
      let rest: Uint8Array = data;
      if (!handshaken) {
        const step = hs.push(data);
        for (const out of step.send) socket.write(out);
        if (!step.done) return;
        handshaken = true;
        rest = step.rest;
        send(MessageType.CommandAMF0, 0, encodeAmf0('connect', 1, { app }));
        send(MessageType.CommandAMF0, 0, encodeAmf0('createStream', 2, null));
        send(MessageType.CommandAMF0, 1, encodeAmf0('play', 0, null, key));
      }
      for (const m of reader.push(rest)) {
        if (m.type !== MessageType.CommandAMF0) continue;
        const [name, , , info] = decodeAmf0(m.payload);
        if (name !== 'onStatus' || typeof info !== 'object' || info === null) continue;
        const code = String((info as Record<string, unknown>)['code']);
        codes.push(code);
        if (code === last) {
          clearTimeout(timer);
          socket.destroy();
          resolve(codes);
        }
      }
    });
  });
}

/** A minimal RTMP player built from our own client pieces: connects, plays, counts video messages. */
function rtmpPlayUntilVideo(port: number, app: string, key: string, wanted: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const hs = new ClientHandshake();
    const reader = new ChunkReader({ maxMessageSize: 16 * 1024 * 1024 });
    const writer = new ChunkWriter();
    let videos = 0;
    let handshaken = false;
    const send = (type: number, streamId: number, payload: Uint8Array): void => {
      socket.write(writer.encode({ csid: 3, type, streamId, timestamp: 0, payload }));
    };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`player got ${videos} video messages`));
    }, 20_000);
    socket.on('connect', () => socket.write(hs.start()));
    socket.on('error', reject);
    socket.on('data', (data: Buffer) => {
      let rest: Uint8Array = data;
      if (!handshaken) {
        const step = hs.push(data);
        for (const out of step.send) socket.write(out);
        if (!step.done) return;
        handshaken = true;
        rest = step.rest;
        send(MessageType.CommandAMF0, 0, encodeAmf0('connect', 1, { app, tcUrl: `rtmp://127.0.0.1:${port}/${app}` }));
        send(MessageType.CommandAMF0, 0, encodeAmf0('createStream', 2, null));
        send(MessageType.CommandAMF0, 1, encodeAmf0('play', 0, null, key, -1000));
      }
      for (const m of reader.push(rest)) {
        if (m.type === MessageType.Video) videos++;
        if (m.type === MessageType.CommandAMF0) {
          const [name, , , info] = decodeAmf0(m.payload);
          if (name === 'onStatus' && JSON.stringify(info).includes('StreamNotFound')) reject(new Error('not found'));
        }
        if (videos >= wanted) {
          clearTimeout(timer);
          socket.destroy();
          resolve(videos);
          return;
        }
      }
    });
  });
}
