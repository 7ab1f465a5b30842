import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import {
  DEFAULT_LADDER,
  parseLadderConfig,
  resolveLadderConfig,
  roundToEven,
  selectLadder,
  type LadderSource,
  type SelectedRendition,
} from '../../src/ladder/ladder.js';

/** `name WxH@fps` (fps `*` when decimated), compact enough for a table. */
function table(r: SelectedRendition[]): string[] {
  return r.map((x) =>
    x.kind === 'passthrough' ? `src ${x.width}x${x.height}` : `${x.name} ${x.width}x${x.height}@${x.fps ?? '='}${x.decimate ? '*' : ''} ${x.maxBitrate / 1000}k ${x.profile}`,
  );
}

const CASES: Array<[string, LadderSource, string[]]> = [
  ['1080p60 6 Mbit/s', { width: 1920, height: 1080, fps: 60, bitrate: 6_000_000, hasVideo: true }, [
    'src 1920x1080', '720p 1280x720@60 3000k high', '480p 854x480@30* 1200k main', '360p 640x360@30* 700k main', '240p 426x240@30* 400k baseline',
  ]],
  ['720p30 2.5 Mbit/s', { width: 1280, height: 720, fps: 30, bitrate: 2_500_000, hasVideo: true }, [
    'src 1280x720', '480p 854x480@30 1200k main', '360p 640x360@30 700k main', '240p 426x240@30 400k baseline',
  ]],
  ['480p30 1.5 Mbit/s (480p rung is not below it)', { width: 854, height: 480, fps: 30, bitrate: 1_500_000, hasVideo: true }, [
    'src 854x480', '360p 640x360@30 700k main', '240p 428x240@30 400k baseline',
  ]],
  ['480p25 0.8 Mbit/s (360p needs < 640k)', { width: 640, height: 480, fps: 25, bitrate: 800_000, hasVideo: true }, [
    'src 640x480', '240p 320x240@25 400k baseline',
  ]],
  ['portrait 720x1280 30 fps 2.5 Mbit/s: rung height is the short side', { width: 720, height: 1280, fps: 30, bitrate: 2_500_000, hasVideo: true }, [
    'src 720x1280', '480p 480x854@30 1200k main', '360p 360x640@30 700k main', '240p 240x426@30 400k baseline',
  ]],
  ['odd size 1366x768 30 fps 4 Mbit/s', { width: 1366, height: 768, fps: 30, bitrate: 4_000_000, hasVideo: true }, [
    'src 1366x768', '720p 1280x720@30 3000k high', '480p 854x480@30 1200k main', '360p 640x360@30 700k main', '240p 426x240@30 400k baseline',
  ]],
  ['1080p60 of unknown bitrate: resolution decides', { width: 1920, height: 1080, fps: 60, hasVideo: true }, [
    'src 1920x1080', '720p 1280x720@60 3000k high', '480p 854x480@30* 1200k main', '360p 640x360@30* 700k main', '240p 426x240@30* 400k baseline',
  ]],
  ['720p of unknown fps: low rungs are capped by decimation', { width: 1280, height: 720, bitrate: 2_500_000, hasVideo: true }, [
    'src 1280x720', '480p 854x480@30* 1200k main', '360p 640x360@30* 700k main', '240p 426x240@30* 400k baseline',
  ]],
  ['720p 600 kbit/s: only 240p is clearly below', { width: 1280, height: 720, fps: 30, bitrate: 600_000, hasVideo: true }, [
    'src 1280x720', '240p 426x240@30 400k baseline',
  ]],
  ['240p source: nothing below', { width: 426, height: 240, fps: 30, bitrate: 400_000, hasVideo: true }, ['src 426x240']],
  ['audio-only', { width: 0, height: 0, hasVideo: false }, ['src 0x0']],
];

describe('selectLadder', () => {
  it.each(CASES)('%s', (_name, source, expected) => {
    expect(table(selectLadder(source))).toEqual(expected);
  });

  it('the source is always first and passthrough, carrying its fps/bitrate', () => {
    const r = selectLadder({ width: 1920, height: 1080, fps: 60, bitrate: 6_000_000, hasVideo: true });
    expect(r[0]).toEqual({ kind: 'passthrough', name: 'src', width: 1920, height: 1080, fps: 60, bitrate: 6_000_000 });
  });

  it('passthroughOnly, custom margin and low fps cap', () => {
    const src: LadderSource = { width: 1920, height: 1080, fps: 60, bitrate: 6_000_000, hasVideo: true };
    expect(table(selectLadder(src, DEFAULT_LADDER, { passthroughOnly: true }))).toEqual(['src 1920x1080']);
    expect(table(selectLadder(src, DEFAULT_LADDER, { bitrateMargin: 0.4 }))).toEqual([
      'src 1920x1080', '480p 854x480@30* 1200k main', '360p 640x360@30* 700k main', '240p 426x240@30* 400k baseline',
    ]);
    expect(table(selectLadder(src, DEFAULT_LADDER, { lowFpsCap: 60 })).slice(2, 3)).toEqual(['480p 854x480@60 1200k main']);
  });

  it('a rung fpsCap applies at any height; rung order in the config does not matter', () => {
    const r = selectLadder({ width: 1920, height: 1080, fps: 60, bitrate: 6e6, hasVideo: true }, [
      { name: 'low', height: 360, maxBitrate: 500_000, profile: 'main' },
      { name: 'hd', height: 720, maxBitrate: 2_000_000, profile: 'high', fpsCap: 30 },
    ]);
    expect(table(r)).toEqual(['src 1920x1080', 'hd 1280x720@30* 2000k high', 'low 640x360@30* 500k main']);
  });

  it('every transcoded dimension is even and below the source, for any source size', () => {
    for (let w = 100; w <= 4000; w += 37) {
      for (const h of [101, 240, 481, 719, 1080, 2161]) {
        for (const r of selectLadder({ width: w, height: h, hasVideo: true })) {
          if (r.kind !== 'transcode') continue;
          expect(r.width % 2).toBe(0);
          expect(r.height % 2).toBe(0);
          expect(Math.min(r.width, r.height)).toBeLessThan(Math.min(w, h));
        }
      }
    }
    expect(roundToEven(426.67)).toBe(426);
    expect(roundToEven(853.33)).toBe(854);
    expect(roundToEven(0.2)).toBe(2);
  });
});

describe('ladder config', () => {
  const config = parseLadderConfig({
    default: [{ name: '360p', height: 360, maxBitrate: 700_000, profile: 'main' }],
    apps: { studio: 'passthrough', sports: [{ name: '720p', height: 720, maxBitrate: 3_000_000, profile: 'high', fpsCap: 60 }] },
    keys: { 'studio/vip': [{ name: '480p', height: 480, maxBitrate: 1_200_000, profile: 'main', level: '3.1' }] },
  });

  it('the most specific entry wins: key > app > default > built-in', () => {
    expect(resolveLadderConfig(config, 'studio', 'vip')).toMatchObject({ from: 'key', passthroughOnly: false, rungs: [{ name: '480p' }] });
    expect(resolveLadderConfig(config, 'studio', 'other')).toEqual({ from: 'app', passthroughOnly: true, rungs: [] });
    expect(resolveLadderConfig(config, 'sports', 'x')).toMatchObject({ from: 'app', rungs: [{ name: '720p', fpsCap: 60 }] });
    expect(resolveLadderConfig(config, 'live', 'x')).toMatchObject({ from: 'default', rungs: [{ name: '360p' }] });
    expect(resolveLadderConfig({}, 'live', 'x')).toEqual({ from: 'builtin', passthroughOnly: false, rungs: DEFAULT_LADDER });
    expect(resolveLadderConfig({ default: [] }, 'live', 'x').passthroughOnly).toBe(true);
  });

  it('rejects bad configs with GatewayError(config) and the path', () => {
    const bad: unknown[] = [
      { default: 'nope' },
      { default: [{ name: 'src', height: 360, maxBitrate: 700_000, profile: 'main' }] },
      { default: [{ name: 'a b', height: 360, maxBitrate: 700_000, profile: 'main' }] },
      { default: [{ name: 'x', height: 360.5, maxBitrate: 700_000, profile: 'main' }] },
      { default: [{ name: 'x', height: 360, maxBitrate: 700_000, profile: 'extended' }] },
      { default: [{ name: 'x', height: 360, maxBitrate: 700_000, profile: 'main', level: 'high' }] },
      { apps: { a: [{ name: 'x', height: 360, maxBitrate: 7e5, profile: 'main' }, { name: 'x', height: 240, maxBitrate: 4e5, profile: 'main' }] } },
      { keys: { 'a/b': [{ name: 'x', height: 360, profile: 'main' }] } },
    ];
    for (const input of bad) {
      expect(() => parseLadderConfig(input)).toThrow(GatewayError);
    }
    try {
      parseLadderConfig({ keys: { 'a/b': [{ name: 'x', height: -1, maxBitrate: 7e5, profile: 'main' }] } });
    } catch (e) {
      expect((e as GatewayError).stage).toBe('config');
      expect((e as GatewayError).context['path']).toBe('keys.a/b.0.height');
    }
  });
});
