/**
 * Alternative audio renditions in the protocol-neutral core: the rendition ids a program's audio
 * languages give, the bound on audio tracks per stream (Publisher), and a rendition's frames
 * sharing the reconnect rebase of its stream in its own timescale (LiveStream).
 */
import { describe, expect, it } from 'vitest';
import { audioRenditionIds, isAudioRendition, isLanguage, MAX_AUDIO_RENDITIONS } from '../../src/core/audio-renditions.js';
import { silentLogger } from '../../src/core/logger.js';
import type { AudioTrack, Frame } from '../../src/core/media.js';
import { PublishPath } from '../../src/core/publish.js';
import { StreamRegistry } from '../../src/core/stream.js';

const aac = (sampleRate: number): AudioTrack => ({
  kind: 'audio', codec: 'aac', timescale: sampleRate, sampleRate, channels: 2, objectType: 2,
  codecString: 'mp4a.40.2', config: new Uint8Array([0x11, 0x90]), samplesPerFrame: 1024,
});
const audioFrame = (dts: number): Frame => ({ kind: 'audio', dts, pts: dts, key: true, data: new Uint8Array([1]), wallclock: 0 });

describe('audio rendition ids', () => {
  it('the first audio track is `audio`; the others are named by their language, or numbered', () => {
    expect(audioRenditionIds(['eng', 'fra'])).toEqual(['audio', 'audio-fra']);
    expect(audioRenditionIds([undefined, undefined, undefined])).toEqual(['audio', 'audio-2', 'audio-3']);
    // Same language twice, `und` and local-use codes: numbered (by place), never a clash.
    expect(audioRenditionIds(['eng', 'eng', 'fra', 'fra', 'und', 'qaa', 'deu'])).toEqual(['audio', 'audio-eng', 'audio-fra', 'audio-4', 'audio-5', 'audio-6', 'audio-deu']);
    expect(audioRenditionIds([])).toEqual([]);
  });

  it('at most MAX_AUDIO_RENDITIONS audio tracks get an id', () => {
    const ids = audioRenditionIds(Array.from({ length: MAX_AUDIO_RENDITIONS + 3 }, () => undefined));
    expect(ids.filter((id) => id !== undefined)).toHaveLength(MAX_AUDIO_RENDITIONS);
    expect(ids.slice(MAX_AUDIO_RENDITIONS)).toEqual([undefined, undefined, undefined]);
    expect(new Set(ids.slice(0, MAX_AUDIO_RENDITIONS)).size).toBe(MAX_AUDIO_RENDITIONS);
  });

  it('tells languages from codes that name none, and audio rendition ids from video ones', () => {
    expect(['eng', 'fra', 'deu'].map(isLanguage)).toEqual([true, true, true]);
    expect(['und', 'mul', 'zxx', 'mis', 'qaa', 'qtz', 'EN', 'en', '', undefined].map(isLanguage)).toEqual(Array(10).fill(false));
    expect(['audio', 'audio-fra', 'audio-2'].map(isAudioRendition)).toEqual([true, true, true]);
    expect(['src', '720p', 'track1', 'audiox'].map(isAudioRendition)).toEqual([false, false, false, false]);
  });
});

describe('Publisher: alternative audio renditions', () => {
  it('carries up to MAX_AUDIO_RENDITIONS audio tracks in all, as streams beside the main one', () => {
    const registry = new StreamRegistry();
    const started = new PublishPath({ registry }).start({ app: 'live', key: 'multi', query: '', ip: '127.0.0.1' }, silentLogger());
    if (!started.ok) throw new Error(started.reason);
    const seen: string[] = [];
    started.stream.onAudioRendition((id) => seen.push(id));
    started.audioLanguage('eng');
    started.track(aac(48_000));
    const accepted: boolean[] = [];
    for (let i = 1; i <= MAX_AUDIO_RENDITIONS; i++) accepted.push(started.audioRenditionTrack(`audio-${i}`, aac(48_000), i === 1 ? 'fra' : undefined));
    expect(accepted).toEqual([...Array(MAX_AUDIO_RENDITIONS - 1).fill(true), false]);
    expect(seen).toHaveLength(MAX_AUDIO_RENDITIONS - 1);
    // A track announced again (a new configuration) is not a new rendition.
    expect(started.audioRenditionTrack('audio-1', aac(44_100), 'fra')).toBe(true);
    expect(started.stream.language).toBe('eng');
    expect(started.stream.audioRenditions.get('audio-1')!.language).toBe('fra');
    expect(started.stream.audioRenditions.get('audio-1')!.audio!.sampleRate).toBe(44_100);
    // Frames reach the rendition's own subscribers only; the stream's end ends them.
    const got: number[] = [];
    let ended = false;
    started.stream.audioRenditions.get('audio-2')!.subscribe({ onTrack: () => undefined, onFrame: (f) => got.push(f.dts), onEnd: () => (ended = true) });
    const main: number[] = [];
    started.stream.subscribe({ onTrack: () => undefined, onFrame: (f) => main.push(f.dts), onEnd: () => undefined });
    started.audioRenditionFrame('audio-2', audioFrame(1024));
    started.audioRenditionFrame('audio-99', audioFrame(2048));
    expect(got).toEqual([1024]);
    expect(main).toEqual([]);
    started.end('done');
    expect(ended).toBe(true);
  });

  it('a rendition shares the reconnect rebase of its stream, in its own sample rate', () => {
    const registry = new StreamRegistry();
    const stream = registry.publish('live', 'rebased')!;
    stream.continueAfter(10);
    stream.pushTrack(aac(48_000));
    const other = stream.audioRendition('audio-fra');
    other.pushTrack(aac(44_100));
    const got: number[] = [];
    other.subscribe({ onTrack: () => undefined, onFrame: (f) => got.push(f.dts), onEnd: () => undefined });
    // The rendition's first frame decides the rebase (media time 1 s -> 10 s); the stream's frames get the same shift.
    other.pushFrame(audioFrame(44_100));
    const main: number[] = [];
    stream.subscribe({ onTrack: () => undefined, onFrame: (f) => main.push(f.dts), onEnd: () => undefined });
    stream.pushFrame(audioFrame(48_000));
    expect(got).toEqual([441_000]);
    expect(main).toEqual([480_000]);
  });
});
