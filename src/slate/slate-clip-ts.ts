/**
 * The slate clip of an HEVC stream. ffmpeg 5.1's FLV muxer writes no Enhanced RTMP, so for HEVC
 * the picture (and AAC silence) is encoded to MPEG-TS instead, read by our own TS demuxer (the SRT
 * ingest's), and turned into the tag bodies an Enhanced RTMP encoder would send (`hvc1`
 * SequenceStart with the hvcC, CodedFrames), with flv/tag.ts's builders; the rest is as
 * slate-clip.ts does for H.264: one GOP from the first keyframe up to the second, and an AAC frame
 * from the middle as the silence.
 */
import { spawn } from 'node:child_process';
import type { AudioTrack, Frame, VideoTrack } from '../core/media.js';
import { audioFrameBody, audioSequenceHeaderBody, videoFrameBody, videoSequenceHeaderBody } from '../flv/tag.js';
import { LineRing } from '../ladder/line-ring.js';
import { TsDemuxer } from '../mux/ts/demuxer.js';
import type { SlateClip, SlateFormat, SlateTag } from './slate-clip.js';

/** The most ffmpeg may write: a still picture's two GOPs are a few hundred kilobytes at most. */
const MAX_TS_BYTES = 16 * 1024 * 1024;

/** Encodes the clip with `encodeArgs` (inputs, maps, codecs) written as MPEG-TS. */
export function encodeSlateClipTs(ffmpegPath: string, encodeArgs: readonly string[], format: SlateFormat, gopFrames: number): Promise<SlateClip> {
  return new Promise((resolve, reject) => {
    const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', ...encodeArgs, '-frames:v', String(gopFrames * 2 + 1), '-f', 'mpegts', 'pipe:1'];
    const child = spawn(ffmpegPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const demuxer = new TsDemuxer();
    const stderr = new LineRing(5);
    let video: VideoTrack | undefined;
    let audio: AudioTrack | undefined;
    const gop: Frame[] = [];
    const audioFrames: Frame[] = [];
    let keyframes = 0;
    let bytes = 0;
    let done = false;
    const finish = (reason?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      if (!video || gop.length === 0 || keyframes < 2) {
        reject(new Error(`the HEVC slate could not be encoded${reason ? `: ${reason}` : ''}`));
        return;
      }
      const first = gop[0]!.dts;
      const tags: SlateTag[] = gop.map((f) => ({ ms: Math.round(((f.dts - first) * 1000) / video!.timescale), payload: videoFrameBody(f, video!.codec) }));
      const silence = audioFrames[Math.floor(audioFrames.length / 2)];
      const audioHeader = audio ? audioSequenceHeaderBody(audio) : undefined;
      resolve({
        videoHeader: videoSequenceHeaderBody(video),
        video: tags,
        loopMs: (tags.length * 1000) / format.fps,
        ...(audio && audioHeader && silence ? { audioHeader, silence: audioFrameBody(silence, audio.codec), sampleRate: audio.sampleRate, silenceSamples: 1024 } : {}),
      });
    };
    const onFrame = (frame: Frame): void => {
      if (frame.kind === 'audio') {
        if (audioFrames.length < 256) audioFrames.push({ ...frame, data: frame.data.slice() });
        return;
      }
      if (frame.key) keyframes++;
      if (keyframes === 1) gop.push({ ...frame, data: frame.data.slice() });
      if (keyframes === 2) finish();
    };
    child.stdout.on('data', (chunk: Buffer) => {
      if (done) return;
      bytes += chunk.byteLength;
      if (bytes > MAX_TS_BYTES) return finish('the clip is too large');
      for (const e of demuxer.push(chunk, 0)) {
        if (e.type === 'track') {
          if (e.track.kind === 'video') video ??= e.track;
          else audio ??= e.track;
        } else if (e.type === 'frame') onFrame(e.frame);
        if (done) return;
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => stderr.push(text));
    child.on('error', (err) => finish(`ffmpeg: ${err.message}`));
    child.on('close', (code) => {
      // The demuxer holds the last access unit of each PID until the stream ends.
      if (!done) for (const e of demuxer.flush(0)) if (e.type === 'frame') onFrame(e.frame);
      finish(`ffmpeg exited (${code ?? 'signal'})${stderr.last() ? `: ${stderr.last()}` : ''}`);
    });
    // A stuck encoder must not hold the slate back forever.
    const timer = setTimeout(() => finish('ffmpeg took longer than 60 s'), 60_000);
  });
}
