/**
 * The RTMP session driven from bytes alone: no socket, a transport that records what it writes,
 * an RTMP client built from our own chunk and handshake code, and the protocol-neutral publish
 * path behind it.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { silentLogger } from '../../src/core/logger.js';
import type { Frame, Track } from '../../src/core/media.js';
import { PublishPath, type PublishDecision, type PublishGate } from '../../src/core/publish.js';
import { StreamRegistry } from '../../src/core/stream.js';
import { decodeAmf0, encodeAmf0 } from '../../src/flv/amf0.js';
import { FLV_TAG_AUDIO, FLV_TAG_VIDEO, FlvReader } from '../../src/flv/reader.js';
import { ChunkReader, ChunkWriter } from '../../src/rtmp/chunk.js';
import { ClientHandshake } from '../../src/rtmp/handshake.js';
import { MessageType } from '../../src/rtmp/messages.js';
import { RtmpSession } from '../../src/rtmp/session.js';
import { committedFixture } from '../helpers/fixtures.js';

/** A client on the other end of an in-memory transport: what the session writes is parsed here. */
class BytesClient {
  readonly session: RtmpSession;
  readonly statuses: string[] = [];
  closed = false;
  private readonly handshake = new ClientHandshake();
  private readonly reader = new ChunkReader({ maxMessageSize: 16 * 1024 * 1024 });
  private readonly writer = new ChunkWriter();
  private handshaken = false;

  constructor(publishPath: PublishPath) {
    this.session = new RtmpSession(
      { write: (bytes) => this.receive(bytes), queuedBytes: () => 0, cork: () => undefined, close: () => void (this.closed = true) },
      { publishPath, logger: silentLogger(), maxMessageSize: 16 * 1024 * 1024, remoteAddress: '127.0.0.1' },
    );
    this.session.push(this.handshake.start());
  }

  private receive(bytes: Uint8Array): void {
    let rest = bytes;
    if (!this.handshaken) {
      const step = this.handshake.push(bytes);
      for (const out of step.send) this.session.push(out);
      if (!step.done) return;
      this.handshaken = true;
      rest = step.rest;
    }
    for (const m of this.reader.push(rest)) {
      if (m.type === MessageType.SetChunkSize) continue;
      if (m.type !== MessageType.CommandAMF0) continue;
      const [name, , , info] = decodeAmf0(m.payload);
      if (name === 'onStatus' && typeof info === 'object' && info !== null) this.statuses.push(String((info as Record<string, unknown>)['code']));
    }
  }

  send(type: number, streamId: number, payload: Uint8Array, timestamp = 0, csid = 3): void {
    this.session.push(this.writer.encode({ csid, type, streamId, timestamp, payload }));
  }

  publish(key: string): void {
    this.send(MessageType.CommandAMF0, 0, encodeAmf0('connect', 1, { app: 'live', tcUrl: 'rtmp://127.0.0.1/live' }));
    this.send(MessageType.CommandAMF0, 0, encodeAmf0('createStream', 2, null));
    this.send(MessageType.CommandAMF0, 1, encodeAmf0('publish', 3, null, key, 'live'));
  }

  /**
   * The media of an FLV file as RTMP audio/video messages; returns how many carry a coded frame
   * (AVCPacketType / AACPacketType 1: not a sequence header nor ffmpeg's end-of-sequence tag).
   */
  sendFlv(file: string): number {
    let frames = 0;
    for (const tag of new FlvReader().push(readFileSync(file))) {
      if (tag.type !== FLV_TAG_VIDEO && tag.type !== FLV_TAG_AUDIO) continue;
      this.send(tag.type === FLV_TAG_VIDEO ? MessageType.Video : MessageType.Audio, 1, tag.payload, tag.timestamp, tag.type === FLV_TAG_VIDEO ? 6 : 4);
      if (tag.payload[1] === 1) frames++;
    }
    return frames;
  }
}

function collect(registry: StreamRegistry, key: string): { tracks: Track[]; frames: Frame[] } {
  const got = { tracks: [] as Track[], frames: [] as Frame[] };
  registry.on('publish', (stream) => {
    if (stream.key !== key) return;
    stream.subscribe({ onTrack: (t) => void got.tracks.push(t), onFrame: (f) => void got.frames.push(f), onEnd: () => undefined });
  });
  return got;
}

describe('RtmpSession from bytes', () => {
  it('connect, publish and media become a stream with its tracks and every frame; the key is freed on close', () => {
    const registry = new StreamRegistry();
    const path = new PublishPath({ registry });
    const got = collect(registry, 'k');
    const client = new BytesClient(path);
    client.publish('k');
    expect(client.statuses).toEqual(['NetStream.Publish.Start']);
    const sent = client.sendFlv(committedFixture('ntsc2997-mono44k'));
    expect(got.tracks.map((t) => t.kind).sort()).toEqual(['audio', 'video']);
    expect(sent).toBeGreaterThan(400);
    expect(got.frames.length).toBe(sent);
    expect(registry.get('live', 'k')?.audio?.sampleRate).toBe(44_100);

    const second = new BytesClient(path);
    second.publish('k');
    expect(second.statuses).toEqual(['NetStream.Publish.BadName']);
    expect(second.closed).toBe(true);

    client.session.close('socket closed');
    expect(registry.get('live', 'k')).toBeUndefined();
  });

  it('with a gate, media sent before the decision is held and replayed in order once allowed', async () => {
    const registry = new StreamRegistry();
    let allow: (d: PublishDecision) => void = () => undefined;
    const gate: PublishGate = { authorize: () => new Promise<PublishDecision>((resolve) => (allow = resolve)) };
    const got = collect(registry, 'held');
    const client = new BytesClient(new PublishPath({ registry, gate }));
    client.publish('held');
    const sent = client.sendFlv(committedFixture('ntsc2997-mono44k'));
    expect(client.statuses).toEqual([]);
    expect(registry.get('live', 'held')).toBeUndefined();
    allow({ ok: true });
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(client.statuses).toEqual(['NetStream.Publish.Start']);
    expect(got.frames.length).toBe(sent);
    const dts = got.frames.filter((f) => f.kind === 'video').map((f) => f.dts);
    expect(dts).toEqual([...dts].sort((a, b) => a - b));
  });

  it('a refused publish gets the gate status and nothing is registered', async () => {
    const registry = new StreamRegistry();
    const gate: PublishGate = { authorize: async () => ({ ok: false, reason: 'bad token', status: 'NetStream.Publish.Unauthorized' }) };
    const client = new BytesClient(new PublishPath({ registry, gate }));
    client.publish('nope');
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(client.statuses).toEqual(['NetStream.Publish.Unauthorized']);
    expect(client.closed).toBe(true);
    expect(registry.list()).toHaveLength(0);
  });
});
