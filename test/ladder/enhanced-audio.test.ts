/**
 * The ladder transcodes video only and shares the source audio track: a stream whose audio is
 * Enhanced RTMP Opus (or FLAC, AC-3) gets the same ladder decision as one with AAC.
 */
import { describe, expect, it } from 'vitest';
import type { AudioTrack } from '../../src/core/media.js';
import { LiveStream } from '../../src/core/stream.js';
import { buildOpusTrack } from '../../src/codec/tracks.js';
import { selectLadder } from '../../src/ladder/ladder.js';
import { LadderManager } from '../../src/ladder/ladder-manager.js';
import { TranscodeSlots } from '../../src/ladder/slots.js';
import { Transcoder } from '../../src/ladder/transcoder.js';
import { fixture } from '../helpers/fixtures.js';
import { readFlvSource } from './flv-source.js';

const OPUS_HEAD = Uint8Array.from(Buffer.from('4f707573486561640102380180bb0000000000', 'hex'));

describe('LadderManager with Enhanced RTMP audio', () => {
  it('selects the ladder from the video alone; the transcoder takes no audio', async () => {
    const src = readFlvSource(await fixture('av720p30'));
    const m = new LadderManager({ slots: new TranscodeSlots(4), createTranscoder: (rungs, opts) => new Transcoder(rungs, { ...opts, ffmpegPath: null }) });
    const stream = new LiveStream('live', 'opus');
    const ladder = m.attach(stream);
    const opus: AudioTrack = buildOpusTrack(OPUS_HEAD);
    stream.pushTrack(opus);
    let audioDts = 0;
    for (const ev of src.events) {
      if (ev.type === 'track') {
        if (ev.track.kind === 'video') stream.pushTrack(ev.track);
      } else if (ev.frame.kind === 'video') {
        stream.pushFrame(ev.frame);
        // 20 ms Opus packets alongside, in place of the fixture's AAC.
        for (; audioDts * 90_000 <= ev.frame.dts * 48_000; audioDts += 960) {
          stream.pushFrame({ kind: 'audio', dts: audioDts, pts: audioDts, key: true, data: Uint8Array.of(0xfc, 0), duration: 960, wallclock: ev.frame.wallclock });
        }
      }
    }
    const info = ladder.info();
    expect(info.phase).toBe('selected');
    expect(info.reason).toBeUndefined();
    expect(info.renditions).toEqual(selectLadder({ width: 1280, height: 720, fps: 30, bitrate: info.bitrate!, hasVideo: true }));
    expect(info.renditions.length).toBeGreaterThan(1);
    await m.stopAll();
  });
});
