/** Recording through the running gateway: a published stream ends up on disk as a playable VOD. */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recordingsSettled } from '../../src/record/stream-recorder.js';
import { fixture } from '../helpers/fixtures.js';
import { publish, startTestGateway } from '../helpers/gateway.js';
import { parseM3u8 } from '../helpers/m3u8.js';
import { decodeErrors } from '../helpers/media-check.js';
import { writeFileSync } from 'node:fs';

describe('recording', () => {
  it('writes CMAF segments and a VOD playlist that plays after the stream ends', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-rec-'));
    const gw = await startTestGateway({ recordDir: dir });
    try {
      const ended = new Promise<void>((resolve) => gw.streams.once('unpublish', () => resolve()));
      const p = publish(await fixture('av360p-short'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/rec`, { realtime: false });
      expect(await p.done).toBe(0);
      await ended;
      await recordingsSettled();
      const [session] = readdirSync(join(dir, 'live', 'rec'));
      const base = join(dir, 'live', 'rec', session!);
      expect(existsSync(join(base, 'index.m3u8'))).toBe(true);
      expect(existsSync(join(base, 'index.mpd'))).toBe(true);
      const media = readFileSync(join(base, 'src', 'index.m3u8'), 'utf8');
      expect(media).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
      const m = parseM3u8(media);
      expect(m.endList).toBe(true);
      expect(m.segments.length).toBeGreaterThanOrEqual(2);
      const pieces = [readFileSync(join(base, 'src', m.segments[0]!.map!.uri)), ...m.segments.map((s) => readFileSync(join(base, 'src', s.uri)))];
      const file = join(dir, 'whole.mp4');
      writeFileSync(file, Buffer.concat(pieces));
      expect(await decodeErrors(file)).toBe('');
      expect(readdirSync(join(base, 'src')).some((f) => f.endsWith('.tmp'))).toBe(false);
    } finally {
      await gw.stop();
    }
  });
});
