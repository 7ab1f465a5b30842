/**
 * StreamRecorder end to end: real H.264 + AAC through LiveStream -> StreamOutput, recorded to a
 * temp dir; the recording must list every segment, decode cleanly, parse with m3u8-parser and
 * mpd-parser, leave no .tmp files, and survive a crash / a full disk with only complete files listed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseMpd } from 'mpd-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { attachRecorder, liveRecordings, recorderOf, recordingsSettled } from '../../src/record/stream-recorder.js';
import { parseM3u8 } from '../helpers/m3u8.js';
import { decodeErrors } from '../helpers/media-check.js';
import { FaultFs, capturingLogger, fileSize, fixtureEvents, listFiles, parsedField, publish, segmentBytes, T0 } from './record-fixture.js';

const roots: string[] = [];
function tempRoot(): string {
  const d = mkdtempSync(join(tmpdir(), 'sg-record-'));
  roots.push(d);
  return d;
}
afterAll(() => {
  for (const d of roots) rmSync(d, { recursive: true, force: true });
});

/** init + listed segments of a media playlist concatenated into one file, for ffmpeg. */
function concatListed(renditionDir: string, playlist: ReturnType<typeof parseM3u8>, out: string): void {
  const pieces: Buffer[] = [];
  let map: string | undefined;
  for (const s of playlist.segments) {
    if (s.map && s.map.uri !== map) {
      map = s.map.uri;
      pieces.push(readFileSync(join(renditionDir, map)));
    }
    pieces.push(readFileSync(join(renditionDir, s.uri)));
  }
  writeFileSync(out, Buffer.concat(pieces));
}

describe('StreamRecorder: a complete recording', async () => {
  const events = await fixtureEvents();
  const root = tempRoot();
  const p = publish(root, 'cam');
  p.feed(events);
  p.stream.end(); // publisher gone: StreamOutput.finish -> every TrackOutput ends
  await p.recorder.done;
  const session = join(root, 'live', 'cam', p.output.session);

  it('ends in the ended state and is no longer live', () => {
    expect(p.recorder.state).toBe('ended');
    expect(p.recorder.sessionDir).toBe(session);
    expect(liveRecordings().has(session)).toBe(false);
    expect(recorderOf(p.output)).toBe(p.recorder);
    expect(attachRecorder(p.output, { dir: root })).toBe(p.recorder);
  });

  it('writes the expected files and no .tmp', () => {
    const files = listFiles(session);
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const s = p.output.session;
    const expected = ['index.m3u8', 'index.mpd'];
    for (const rend of ['src', 'audio']) {
      expected.push(`${rend}/index.m3u8`, `${rend}/init-${s}-0.mp4`);
      for (const seg of p.produced.get(rend)!) expected.push(`${rend}/seg-${s}-${seg.sequence}.m4s`);
    }
    expect(files).toEqual(expected.sort());
    // More segments than the live window: the recording is not limited by it.
    expect(p.produced.get('src')!.length).toBeGreaterThan(3);
  });

  it('segment files hold exactly the bytes the live output produced', () => {
    for (const rend of ['src', 'audio']) {
      for (const seg of p.produced.get(rend)!) {
        const onDisk = readFileSync(join(session, rend, `seg-${p.output.session}-${seg.sequence}.m4s`));
        expect(Buffer.compare(onDisk, Buffer.from(segmentBytes(seg)))).toBe(0);
      }
    }
  });

  it('VOD media playlists list every segment with exact durations', () => {
    for (const rend of ['src', 'audio']) {
      const text = readFileSync(join(session, rend, 'index.m3u8'), 'utf8');
      const playlist = parseM3u8(text);
      expect(parsedField(playlist, 'playlistType')).toBe('VOD');
      expect(playlist.endList).toBe(true);
      const produced = p.produced.get(rend)!;
      expect(playlist.segments.map((s) => s.uri)).toEqual(produced.map((s) => `seg-${p.output.session}-${s.sequence}.m4s`));
      playlist.segments.forEach((s, i) => expect(s.duration).toBeCloseTo(produced[i]!.duration / produced[i]!.timescale, 3));
      expect(playlist.mediaSequence).toBe(produced[0]!.sequence);
      expect(playlist.segments[0]!.map?.uri).toBe(`init-${p.output.session}-0.mp4`);
      expect((parsedField(playlist.segments[0]!, 'dateTimeObject') as Date).getTime()).toBeCloseTo(T0 + (produced[0]!.startTime / produced[0]!.timescale) * 1000, -1);
      for (const s of playlist.segments) expect(Math.round(s.duration)).toBeLessThanOrEqual(playlist.targetDuration!);
    }
  });

  it('the multivariant playlist names the recorded renditions', () => {
    const mv = parseM3u8(readFileSync(join(session, 'index.m3u8'), 'utf8'));
    expect(mv.playlists).toHaveLength(1);
    expect(mv.playlists![0]!.uri).toBe('src/index.m3u8');
    expect(mv.playlists![0]!.attributes['CODECS']).toBe('avc1.42c01e,mp4a.40.2');
    expect(mv.playlists![0]!.attributes['RESOLUTION']).toEqual({ width: 640, height: 360 });
    expect(Object.values(mv.mediaGroups!['AUDIO']!['audio']!)[0]!.uri).toBe('audio/index.m3u8');
  });

  it('init + segments decode with ffmpeg -v error silent', async () => {
    for (const rend of ['src', 'audio']) {
      const playlist = parseM3u8(readFileSync(join(session, rend, 'index.m3u8'), 'utf8'));
      const file = join(root, `${rend}.mp4`);
      concatListed(join(session, rend), playlist, file);
      expect(await decodeErrors(file)).toBe('');
    }
  });

  it('the static MPD parses with mpd-parser and lists every segment', () => {
    const text = readFileSync(join(session, 'index.mpd'), 'utf8');
    expect(text).toContain('type="static"');
    const manifestUri = `https://example.test/live/cam/${p.output.session}/index.mpd`;
    const mpd = parseMpd(text, { manifestUri });
    const video = mpd.playlists[0]!;
    const src = p.produced.get('src')!;
    expect(video.segments.map((s) => s.resolvedUri)).toEqual(src.map((s) => new URL(`src/seg-${p.output.session}-${s.sequence}.m4s`, manifestUri).href));
    expect(video.segments[0]!.map?.resolvedUri).toBe(new URL(`src/init-${p.output.session}-0.mp4`, manifestUri).href);
    const audio = Object.values(mpd.mediaGroups.AUDIO)[0]!;
    const audioPlaylist = Object.values(audio)[0]!.playlists[0]!;
    expect(audioPlaylist.segments).toHaveLength(p.produced.get('audio')!.length);
    const total = src.reduce((n, s) => n + s.duration / s.timescale, 0);
    expect(mpd.duration).toBeGreaterThan(total - 0.1);
    expect(mpd.duration).toBeLessThan(total + 0.2);
  });
});

describe('StreamRecorder while the stream is live', async () => {
  const events = await fixtureEvents();

  it('writes EVENT playlists without ENDLIST and stays live for retention', async () => {
    const root = tempRoot();
    const p = publish(root, 'live-event');
    p.feed(events, 0, Math.floor(events.length / 2));
    await p.recorder.whenIdle();
    expect(p.recorder.state).toBe('recording');
    expect(liveRecordings().has(p.recorder.sessionDir)).toBe(true);
    const playlist = parseM3u8(readFileSync(join(p.recorder.sessionDir, 'src', 'index.m3u8'), 'utf8'));
    expect(parsedField(playlist, 'playlistType')).toBe('EVENT');
    expect(playlist.endList).toBeFalsy();
    expect(playlist.segments).toHaveLength(p.produced.get('src')!.length);
    // The MPD is static and already playable.
    const mpd = parseMpd(readFileSync(join(p.recorder.sessionDir, 'index.mpd'), 'utf8'), { manifestUri: 'https://example.test/x/index.mpd' });
    expect(mpd.playlists[0]!.segments).toHaveLength(p.produced.get('src')!.length);
    p.output.close();
    // What a graceful shutdown awaits after OutputRegistry.close().
    await recordingsSettled();
    expect(p.recorder.state).toBe('ended');
  });
});

describe('StreamRecorder and a crash', async () => {
  const events = await fixtureEvents();

  it('a crash mid-stream leaves only complete files listed', async () => {
    const root = tempRoot();
    const fs = new FaultFs();
    let renamedSegments = 0;
    // The process "dies" right after the 3rd segment file is renamed into place.
    fs.afterRename = (to) => {
      if (/seg-[^/]*\.m4s$/.test(to) && ++renamedSegments === 3) fs.freeze();
    };
    const p = publish(root, 'crash', { fs });
    p.feed(events, 0, Math.floor((events.length * 3) / 4));
    await fs.settled();
    // The other rendition's rename may have been in flight at the freeze.
    expect(renamedSegments).toBeGreaterThanOrEqual(3);

    const session = p.recorder.sessionDir;
    const files = listFiles(session);
    let listedSegments = 0;
    for (const rend of ['src', 'audio']) {
      const path = join(session, rend, 'index.m3u8');
      if (!existsSync(path)) continue;
      const playlist = parseM3u8(readFileSync(path, 'utf8'));
      expect(playlist.endList).toBeFalsy();
      const bySequence = new Map(p.produced.get(rend)!.map((s) => [`seg-${p.output.session}-${s.sequence}.m4s`, s]));
      for (const s of playlist.segments) {
        listedSegments++;
        // Listed => complete: exactly the produced bytes.
        const expected = segmentBytes(bySequence.get(s.uri)!);
        expect(Buffer.compare(readFileSync(join(session, rend, s.uri)), Buffer.from(expected))).toBe(0);
        expect(existsSync(join(session, rend, s.map!.uri))).toBe(true);
      }
      if (playlist.segments.length > 0) {
        const file = join(root, `crash-${rend}.mp4`);
        concatListed(join(session, rend), playlist, file);
        expect(await decodeErrors(file)).toBe('');
      }
      // Nothing partial is ever listed; .tmp files are never named.
      expect(playlist.segments.every((s) => !s.uri.endsWith('.tmp'))).toBe(true);
    }
    expect(listedSegments).toBeGreaterThan(0);
    expect(listedSegments).toBeLessThan(p.produced.get('src')!.length + p.produced.get('audio')!.length);
    // Any segment-named file (not .tmp) on disk is complete, listed or not.
    for (const f of files.filter((f) => f.endsWith('.m4s'))) {
      const [rend, name] = f.split('/') as [string, string];
      const seg = p.produced.get(rend)!.find((s) => name === `seg-${p.output.session}-${s.sequence}.m4s`)!;
      expect(fileSize(join(session, f))).toBe(seg.byteLength);
    }
  });
});

describe('StreamRecorder and a full disk', async () => {
  const events = await fixtureEvents();

  it('logs once, stops recording, and leaves the live output untouched', async () => {
    const root = tempRoot();
    const fs = new FaultFs();
    let segmentOpens = 0;
    fs.failOpen = (path) => /src\/seg-[^/]*\.m4s\.tmp$/.test(path) && ++segmentOpens === 2;
    const { logger, records } = capturingLogger();
    const p = publish(root, 'full', { fs, logger });
    p.feed(events, 0, Math.floor(events.length / 2));
    await p.recorder.done; // resolves on failure
    expect(p.recorder.state).toBe('failed');
    expect(liveRecordings().has(p.recorder.sessionDir)).toBe(false);
    const errors = records.filter((r) => r.level >= 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.msg).toBe('recording stopped');
    expect(String((errors[0]!['err'] as { message: string }).message)).toContain('ENOSPC');

    // Live serving goes on: more segments, then a clean end.
    const before = p.produced.get('src')!.length;
    p.feed(events, Math.floor(events.length / 2));
    p.stream.end();
    expect(p.produced.get('src')!.length).toBeGreaterThan(before);
    expect(p.output.ended).toBe(true);
    await p.recorder.whenIdle();

    // What was listed before the failure is complete.
    const playlist = parseM3u8(readFileSync(join(p.recorder.sessionDir, 'src', 'index.m3u8'), 'utf8'));
    expect(playlist.segments).toHaveLength(1);
    expect(playlist.endList).toBeFalsy();
    for (const s of playlist.segments) expect(existsSync(join(p.recorder.sessionDir, 'src', s.uri))).toBe(true);
    expect(records.filter((r) => r.level >= 50)).toHaveLength(1);
  });

  it('refuses a stream name that would leave the recording directory', () => {
    const root = tempRoot();
    const { logger, records } = capturingLogger();
    const p = publish(root, '..', { logger });
    expect(p.recorder.state).toBe('failed');
    expect(records.filter((r) => r.level >= 50)).toHaveLength(1);
    expect(listFiles(root)).toEqual([]);
  });
});

describe('StreamRecorder and renditions added later', async () => {
  const events = await fixtureEvents();

  it('records a rung that joins mid-stream, listing it in the multivariant playlist and MPD', async () => {
    const root = tempRoot();
    const p = publish(root, 'rungs');
    p.feed(events, 0, Math.floor(events.length / 3));
    // A "transcoded" rung fed from the same stream (same keyframes): it joins at a source segment start.
    const rung = p.output.addVideoRendition('360p', p.stream);
    const rungSegments: number[] = [];
    rung.on('segment', (s) => rungSegments.push(s.sequence));
    p.feed(events, Math.floor(events.length / 3));
    p.stream.end();
    await p.recorder.done;
    expect(p.recorder.state).toBe('ended');
    expect(rungSegments.length).toBeGreaterThan(0);
    const playlist = parseM3u8(readFileSync(join(p.recorder.sessionDir, '360p', 'index.m3u8'), 'utf8'));
    expect(playlist.segments.map((s) => s.uri)).toEqual(rungSegments.map((n) => `seg-${p.output.session}-${n}.m4s`));
    const file = join(root, 'rung.mp4');
    concatListed(join(p.recorder.sessionDir, '360p'), playlist, file);
    expect(await decodeErrors(file)).toBe('');
    const mv = parseM3u8(readFileSync(join(p.recorder.sessionDir, 'index.m3u8'), 'utf8'));
    expect(mv.playlists!.map((v) => v.uri).sort()).toEqual(['360p/index.m3u8', 'src/index.m3u8']);
    const mpd = parseMpd(readFileSync(join(p.recorder.sessionDir, 'index.mpd'), 'utf8'), { manifestUri: 'https://example.test/r/index.mpd' });
    expect(mpd.playlists.map((pl) => pl.attributes['NAME']).sort()).toEqual(['360p', 'src']);
  });
});

describe('StreamRecorder memory bound', async () => {
  const events = await fixtureEvents();

  it('gives up when more than maxPendingBytes wait for the disk', async () => {
    const root = tempRoot();
    const { logger, records } = capturingLogger();
    // Every frame is pushed synchronously, before any write completes: the queue must hold it all.
    const p = publish(root, 'slow', { logger, maxPendingBytes: 50_000 });
    p.feed(events);
    expect(p.recorder.state).toBe('failed');
    expect(p.recorder.pendingBytes).toBeLessThanOrEqual(50_000);
    const error = records.find((r) => r.level >= 50)!;
    expect(error['maxPendingBytes']).toBe(50_000);
    p.stream.end();
    await p.recorder.whenIdle();
  });
});
