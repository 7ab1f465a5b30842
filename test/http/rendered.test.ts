import { describe, expect, it } from 'vitest';
import { renderedOnce } from '../../src/http/rendered.js';
import { AUDIO_STEREO, fabricateOutput, feedInit, feedSegment, makePart, VIDEO_720P } from '../packager/dash/fabricate.js';

describe('renderedOnce', () => {
  it('reuses what it rendered until the stream shows a change: part, segment, rendition, suspension, end', () => {
    const { output } = fabricateOutput();
    const video = output.videos.get('src')!;
    feedInit(video, VIDEO_720P);
    feedInit(output.audio, AUDIO_STEREO);
    feedSegment(video, { sequence: 0, startTime: 0, duration: 180_000, timescale: 90_000 });
    let renders = 0;
    const render = (): string => `rendered ${++renders}`;
    const get = (variant = 'hls/src'): string => renderedOnce(output, variant, render);

    expect(get()).toBe('rendered 1');
    expect(get()).toBe('rendered 1');
    // Each variant (rendition, client quirk) is its own text.
    expect(get('mpd')).toBe('rendered 2');
    expect(get()).toBe('rendered 1');

    const changes: (() => void)[] = [
      () => video.onPart(makePart(video, 1, 0, 180_000, 45_000, 90_000)),
      () => feedSegment(output.audio, { sequence: 0, startTime: 0, duration: 96_000, timescale: 48_000 }),
      () => output.addVideoRendition('360p', { subscribe: () => () => undefined }),
      () => output.suspend(),
      () => output.finish(),
    ];
    for (const change of changes) {
      const before = get();
      change();
      const after = get();
      expect(after).not.toBe(before);
      expect(get()).toBe(after);
    }
    expect(renders).toBe(2 + changes.length);
  });
});
