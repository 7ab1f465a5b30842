/**
 * The slate's silence in the live stream's own audio codec when that is not AAC: Opus, AC-3 or
 * E-AC-3 (Enhanced RTMP v2 audio), so the audio track goes on through the slate in the codec its
 * playlists announce instead of stopping (a player waits for audio it is told exists). ffmpeg
 * 5.1's FLV muxer writes no Enhanced RTMP, so the silence is encoded to the codec's own simplest
 * container (Ogg for Opus, raw syncframes for AC-3 / E-AC-3), one frame is taken from the middle
 * (past the encoder's start-up) and wrapped in ExAudioTagHeader tag bodies as an E-RTMP encoder
 * would send them. FLAC is not matched (its frames are numbered: one frame repeated is not a
 * valid stream); a FLAC stream's slate has no audio.
 */
import { spawn } from 'node:child_process';
import type { AudioCodec } from '../core/media.js';
import { splitAc3Frames } from '../codec/ac3.js';
import { opusPacketSamples } from '../codec/opus.js';
import { LineRing } from '../ladder/line-ring.js';

/** Audio codecs whose silence this module makes (AAC comes with the slate's picture encode). */
export const SILENCE_CODECS = ['opus', 'ac3', 'eac3'] as const;
export type SilenceCodec = (typeof SILENCE_CODECS)[number];

export function isSilenceCodec(codec: AudioCodec): codec is SilenceCodec {
  return (SILENCE_CODECS as readonly string[]).includes(codec);
}

export interface SlateSilence {
  /** The SequenceStart tag body (Opus: OpusHead); AC-3 / E-AC-3 have none. */
  readonly header?: Uint8Array;
  /** One CodedFrames tag body of silence, repeated. */
  readonly frame: Uint8Array;
  /** Samples one frame lasts. */
  readonly samples: number;
  readonly sampleRate: number;
}

/** E-RTMP v2 AudioFourCc of each codec. */
const FOURCC: Record<SilenceCodec, string> = { opus: 'Opus', ac3: 'ac-3', eac3: 'ec-3' };
/** ExAudioTagHeader: SoundFormat 9 (ExHeader) << 4 | AudioPacketType (0 SequenceStart, 1 CodedFrames). */
const SEQUENCE_START = (9 << 4) | 0;
const CODED_FRAMES = (9 << 4) | 1;
/** Encoded bytes accepted from ffmpeg: one second of silence is a few kilobytes. */
const MAX_OUTPUT_BYTES = 1024 * 1024;

function exAudioTag(packetType: number, codec: SilenceCodec, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + data.byteLength);
  out[0] = packetType;
  for (let i = 0; i < 4; i++) out[1 + i] = FOURCC[codec].charCodeAt(i);
  out.set(data, 5);
  return out;
}

/** ffmpeg arguments encoding one second of silence in `codec` to stdout. */
export function silenceArgs(codec: SilenceCodec, sampleRate: number, channels: number): string[] {
  // anullsrc makes mono; -ac gives the stream's channel count with ffmpeg's default layout for it.
  const input = ['-f', 'lavfi', '-i', `anullsrc=r=${codec === 'opus' ? 48_000 : sampleRate}:cl=mono`, '-t', '1', '-ac', String(channels)];
  switch (codec) {
    case 'opus':
      return [...input, '-c:a', 'libopus', '-b:a', '32k', '-frame_duration', '20', '-f', 'opus', 'pipe:1'];
    case 'ac3':
      return [...input, '-c:a', 'ac3', '-b:a', '96k', '-f', 'ac3', 'pipe:1'];
    case 'eac3':
      return [...input, '-c:a', 'eac3', '-b:a', '96k', '-f', 'eac3', 'pipe:1'];
  }
}

/** The packets of an Ogg stream (RFC 3533: pages of lacing values; a value under 255 ends a packet). */
export function oggPackets(bytes: Uint8Array): Uint8Array[] {
  const packets: Uint8Array[] = [];
  let pending: Uint8Array[] = [];
  let off = 0;
  while (off + 27 <= bytes.byteLength) {
    if (bytes[off] !== 0x4f || bytes[off + 1] !== 0x67 || bytes[off + 2] !== 0x67 || bytes[off + 3] !== 0x53) throw new Error(`not an Ogg page at byte ${off}`);
    const segments = bytes[off + 26]!;
    const lacing = bytes.subarray(off + 27, off + 27 + segments);
    let data = off + 27 + segments;
    for (const size of lacing) {
      if (data + size > bytes.byteLength) throw new Error(`Ogg page at byte ${off} truncated`);
      pending.push(bytes.subarray(data, data + size));
      data += size;
      if (size < 255) {
        const length = pending.reduce((n, p) => n + p.byteLength, 0);
        const packet = new Uint8Array(length);
        let at = 0;
        for (const p of pending) {
          packet.set(p, at);
          at += p.byteLength;
        }
        packets.push(packet);
        pending = [];
      }
    }
    off = data;
  }
  return packets;
}

/** Silence as tag bodies, from what ffmpeg wrote for `silenceArgs`. */
export function silenceFromEncoded(codec: SilenceCodec, encoded: Uint8Array): SlateSilence {
  if (codec === 'opus') {
    // OpusHead, OpusTags, then the audio packets (RFC 7845 §3).
    const [head, , ...audio] = oggPackets(encoded);
    const packet = audio[Math.floor(audio.length / 2)];
    if (!head || !packet) throw new Error('ffmpeg wrote no Opus packets');
    return { header: exAudioTag(SEQUENCE_START, codec, head), frame: exAudioTag(CODED_FRAMES, codec, packet), samples: opusPacketSamples(packet), sampleRate: 48_000 };
  }
  const units = splitAc3Frames(encoded);
  const unit = units[Math.floor(units.length / 2)];
  if (!unit) throw new Error(`ffmpeg wrote no ${codec} syncframes`);
  return { frame: exAudioTag(CODED_FRAMES, codec, unit.data.slice()), samples: unit.samples, sampleRate: unit.frames[0]!.sampleRate };
}

/** Encodes the silence with ffmpeg (not in real time; a second of audio takes milliseconds). */
export function encodeSlateSilence(ffmpegPath: string, codec: SilenceCodec, sampleRate: number, channels: number): Promise<SlateSilence> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-nostdin', ...silenceArgs(codec, sampleRate, channels)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let bytes = 0;
    const stderr = new LineRing(5);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => stderr.push(text));
    child.stdout.on('data', (chunk: Buffer) => {
      bytes += chunk.byteLength;
      if (bytes > MAX_OUTPUT_BYTES) child.kill('SIGKILL');
      else chunks.push(chunk);
    });
    // A stuck encoder must not hold the slate back forever.
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${codec} silence: ffmpeg: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`${codec} silence (${sampleRate} Hz, ${channels} ch): ffmpeg exited (${signal ?? code})${stderr.last() ? `: ${stderr.last()}` : ''}`));
        return;
      }
      try {
        resolve(silenceFromEncoded(codec, new Uint8Array(Buffer.concat(chunks))));
      } catch (err) {
        reject(new Error(`${codec} silence (${sampleRate} Hz, ${channels} ch): ${(err as Error).message}`));
      }
    });
  });
}
