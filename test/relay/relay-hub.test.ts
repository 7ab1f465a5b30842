import { describe, expect, it } from 'vitest';
import type { AudioTrack, Frame, VideoTrack } from '../../src/core/media.js';
import { LiveStream } from '../../src/core/stream.js';
import { PlayerQueuePolicy, RelayHub, TAG_AUDIO, TAG_VIDEO, message, type RelayBatch } from '../../src/relay/relay-hub.js';

const video: VideoTrack = {
  kind: 'video', codec: 'avc', timescale: 90000, width: 640, height: 360, fps: 30, codecString: 'avc1.42c01e',
  config: new Uint8Array([1, 0x42, 0xc0, 0x1e, 0xff, 0xe0, 0]), parameterSets: [], nalLengthSize: 4,
};
const audio: AudioTrack = {
  kind: 'audio', codec: 'aac', timescale: 48000, sampleRate: 48000, channels: 2, objectType: 2, codecString: 'mp4a.40.2',
  config: new Uint8Array([0x11, 0x90]), samplesPerFrame: 1024,
};
const vf = (i: number, key: boolean): Frame => ({ kind: 'video', dts: i * 3000, pts: i * 3000, key, data: new Uint8Array([0, 0, 0, 1, 0x65]), wallclock: 0 });
const af = (k: number): Frame => ({ kind: 'audio', dts: k * 1024, pts: k * 1024, key: true, data: new Uint8Array([1]), wallclock: 0 });

describe('RelayHub', () => {
  /** The end of the current event-loop turn, where the hub sends what the turn brought. */
  const endOfTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  it('gives a joining player headers and the GOP from the last keyframe, then live batches', async () => {
    const stream = new LiveStream('live', 'k');
    const hub = new RelayHub(stream, () => new Uint8Array([2]));
    stream.pushTrack(video);
    stream.pushTrack(audio);
    stream.pushFrame(vf(0, true));
    stream.pushFrame(vf(1, false));
    stream.pushFrame(vf(2, true));
    stream.pushFrame(af(0));
    stream.pushFrame(vf(3, false));
    const start = hub.start();
    expect(start.metadata).toBeDefined();
    // onMetaData at 0 whatever the stream's clock: ffmpeg reads a later one as a data stream.
    expect(start.metadata!.timestamp).toBe(0);
    expect(start.headers.map((h) => h.type)).toEqual([TAG_VIDEO, TAG_AUDIO]);
    // GOP starts at the last keyframe (frame 2), and headers carry its timestamp.
    expect(start.gop[0]!.key).toBe(true);
    expect(start.gop[0]!.timestamp).toBe(66);
    expect(start.headers.every((h) => h.timestamp === 66)).toBe(true);
    expect(start.gop).toHaveLength(3);
    const batches: RelayBatch[] = [];
    let ended = false;
    hub.addPlayer({ send: (b) => batches.push(b), end: () => (ended = true) });
    stream.pushFrame(vf(4, false));
    expect(batches).toHaveLength(0);
    await endOfTurn();
    expect(batches).toHaveLength(1);
    expect(batches[0]!.messages[0]!.timestamp).toBe(133);
    stream.end();
    expect(ended).toBe(true);
  });

  it('rebuilds FLV bodies from frames: AVC NALU packet with composition time', async () => {
    const stream = new LiveStream('live', 'k');
    const hub = new RelayHub(stream);
    const sent: RelayBatch[] = [];
    hub.addPlayer({ send: (b) => sent.push(b), end: () => undefined });
    stream.pushTrack(video);
    stream.pushFrame({ ...vf(0, true), pts: 2 * 3000 });
    await endOfTurn();
    const [header, frame] = sent[0]!.messages;
    expect([...frame!.body.subarray(0, 5)]).toEqual([0x17, 1, 0, 0, 67]);
    expect([...header!.body.subarray(0, 5)]).toEqual([0x17, 0, 0, 0, 0]);
  });

  it('sends the messages of one event-loop turn as one batch; a player joining mid-turn gets them once', async () => {
    const stream = new LiveStream('live', 'k');
    const hub = new RelayHub(stream);
    stream.pushTrack(video);
    stream.pushTrack(audio);
    const early: RelayBatch[] = [];
    hub.addPlayer({ send: (b) => early.push(b), end: () => undefined });
    stream.pushFrame(vf(0, true));
    stream.pushFrame(af(0));
    // Joins in the same turn: the pending messages go to the early player first, and are in the joiner's GOP.
    const start = hub.start();
    const late: RelayBatch[] = [];
    hub.addPlayer({ send: (b) => late.push(b), end: () => undefined });
    expect(early.map((b) => b.messages.map((m) => m.type))).toEqual([[TAG_VIDEO, TAG_AUDIO]]);
    expect(start.gop.map((m) => m.type)).toEqual([TAG_VIDEO, TAG_AUDIO]);
    stream.pushFrame(vf(1, false));
    stream.pushFrame(af(1));
    stream.pushFrame(af(2));
    await endOfTurn();
    // Both players: one batch of the turn's three messages; the joiner saw nothing twice.
    expect(early).toHaveLength(2);
    expect(early[1]!.messages.map((m) => m.timestamp)).toEqual([33, 21, 42]);
    expect(late).toHaveLength(1);
    expect(late[0]).toBe(early[1]);
    // Ending sends what is pending before the players are ended.
    stream.pushFrame(vf(2, false));
    let endedAfter = 0;
    hub.addPlayer({ send: () => endedAfter++, end: () => expect(endedAfter).toBe(1) });
    stream.end();
    expect(early).toHaveLength(3);
  });
});

describe('PlayerQueuePolicy', () => {
  it('past the bound it drops until the next keyframe, then resumes once the queue drained', () => {
    const policy = new PlayerQueuePolicy(1000);
    const key = message(TAG_VIDEO, 0, new Uint8Array(10), true);
    const delta = message(TAG_VIDEO, 33, new Uint8Array(10), false);
    const aud = message(TAG_AUDIO, 40, new Uint8Array(10));
    expect(policy.admit(delta, 0, true)).toBe(true);
    expect(policy.admit(delta, 5000, true)).toBe(false); // over the bound: start skipping
    expect(policy.admitsAll(0)).toBe(false);
    expect(policy.admit(aud, 0, true)).toBe(false); // still skipping: wait for a keyframe
    expect(policy.admit(delta, 0, true)).toBe(false);
    expect(policy.admit(key, 900, true)).toBe(false); // keyframe but queue not drained below half
    expect(policy.admit(key, 100, true)).toBe(true);
    expect(policy.admit(aud, 100, true)).toBe(true);
    expect(policy.dropped).toBe(4);
  });

  it('audio-only: resumes when the queue drained', () => {
    const policy = new PlayerQueuePolicy(1000);
    const aud = message(TAG_AUDIO, 0, new Uint8Array(10));
    expect(policy.admit(aud, 2000, false)).toBe(false);
    expect(policy.admit(aud, 200, false)).toBe(true);
  });
});
