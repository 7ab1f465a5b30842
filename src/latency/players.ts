/**
 * The six probe players. Each behaves like a default player of its protocol (where it starts,
 * how it polls) and records, per video frame, the SEI send time and the wall clock at arrival.
 * A player runs until its AbortSignal fires; failures end up in `measurement.error`.
 */
import { setTimeout as sleepTimer } from 'node:timers/promises';
import { GatewayError } from '../core/errors.js';
import { FlvReader, FLV_TAG_VIDEO } from '../flv/reader.js';
import { parseVideoTagBody } from '../flv/tag.js';
import { MessageType } from '../rtmp/messages.js';
import { wallClockMs } from './clock.js';
import { fragmentSamples } from './fmp4-samples.js';
import { expandTemplate, parseMediaPlaylist, parseMpdRepresentation, type DashSegmentRef, type HlsPart } from './manifests.js';
import type { Protocol, ProtocolMeasurement } from './report.js';
import { RtmpClientConnection, type RtmpTarget } from '../rtmp/client.js';
import { findTimestampInAvcc, findTimestampsInAnnexB } from './sei.js';
import { TsPesCollector } from './ts-video.js';

export interface PlayerContext {
  readonly rtmp: RtmpTarget;
  /** e.g. http://127.0.0.1:8000 (no trailing slash). */
  readonly httpBase: string;
  readonly signal: AbortSignal;
  readonly measurement: ProtocolMeasurement;
}

export type Player = (ctx: PlayerContext) => Promise<void>;

function record(m: ProtocolMeasurement, sendTimes: readonly number[]): void {
  const arrivalMs = wallClockMs();
  for (const sendMs of sendTimes) m.frames.push({ sendMs, arrivalMs });
}

async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  await sleepTimer(Math.max(0, ms), undefined, { signal });
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

async function fetchBytes(url: string, signal: AbortSignal): Promise<Uint8Array | undefined> {
  const res = await fetch(url, { signal });
  if (!res.ok) {
    await res.body?.cancel();
    return undefined;
  }
  return new Uint8Array(await res.arrayBuffer());
}

async function fetchText(url: string, signal: AbortSignal): Promise<string | undefined> {
  const res = await fetch(url, { signal });
  if (!res.ok) {
    await res.body?.cancel();
    return undefined;
  }
  return res.text();
}

/** Send times in one FLV/RTMP video payload; tracks the AVC NAL length size from the sequence header. */
export class FlvVideoStamps {
  private nalLengthSize = 4;

  read(payload: Uint8Array): number | undefined {
    try {
      const body = parseVideoTagBody(payload);
      if (body.kind === 'sequence-header' && body.codec === 'avc' && body.config.byteLength > 4) {
        this.nalLengthSize = (body.config[4]! & 3) + 1;
        return undefined;
      }
      if (body.kind !== 'frame' || body.codec !== 'avc') return undefined;
      return findTimestampInAvcc(body.data, this.nalLengthSize);
    } catch (e) {
      if (e instanceof GatewayError) return undefined;
      throw e;
    }
  }
}

/** Send times in a CMAF fragment (segment or part): samples split by trun sizes. */
export function fmp4Stamps(bytes: Uint8Array): number[] {
  const out: number[] = [];
  for (const sample of fragmentSamples(bytes)) {
    try {
      const ts = findTimestampInAvcc(sample.data, 4);
      if (ts !== undefined) out.push(ts);
    } catch (e) {
      if (!(e instanceof GatewayError)) throw e;
    }
  }
  return out;
}

/** Send times in an MPEG-TS segment: PID 0x100 PES payloads scanned as Annex B. */
export function tsStamps(bytes: Uint8Array): number[] {
  const pes = new TsPesCollector(0x100);
  const payloads = [...pes.push(bytes), ...pes.flush()];
  return payloads.flatMap((p) => findTimestampsInAnnexB(p));
}

export const playRtmp: Player = async ({ rtmp, signal, measurement }) => {
  const conn = new RtmpClientConnection(rtmp);
  const stamps = new FlvVideoStamps();
  const close = (): void => conn.close();
  signal.addEventListener('abort', close, { once: true });
  conn.onMedia = (msg) => {
    if (msg.type !== MessageType.Video) return;
    const ts = stamps.read(msg.payload);
    if (ts !== undefined) record(measurement, [ts]);
  };
  try {
    await conn.play();
    await untilAborted(signal);
  } finally {
    conn.close();
  }
};

export const playHttpFlv: Player = async ({ rtmp, httpBase, signal, measurement }) => {
  const res = await fetch(`${httpBase}/${rtmp.app}/${rtmp.key}.flv`, { signal });
  if (!res.ok || !res.body) throw new Error(`HTTP-FLV status ${res.status}`);
  const reader = new FlvReader();
  const stamps = new FlvVideoStamps();
  const body = res.body.getReader();
  for (;;) {
    const { done, value } = await body.read();
    if (done) return;
    for (const tag of reader.push(value)) {
      if (tag.type !== FLV_TAG_VIDEO) continue;
      const ts = stamps.read(tag.payload);
      if (ts !== undefined) record(measurement, [ts]);
    }
  }
};

/**
 * Classic HLS (RFC 8216bis §6.3.3): reload every target duration / 2 (no LL params), start at
 * the third-last segment (the 3 x target duration hold-back), then fetch each new segment in order.
 */
function classicHls(playlistName: string, extract: (bytes: Uint8Array) => number[]): Player {
  return async ({ rtmp, httpBase, signal, measurement }) => {
    const url = `${httpBase}/${rtmp.app}/${rtmp.key}/src/${playlistName}`;
    let next: number | undefined;
    for (;;) {
      const text = await fetchText(url, signal);
      const pl = text === undefined ? undefined : parseMediaPlaylist(text);
      if (pl && pl.segments.length > 0) {
        measurement.bufferSeconds = 3 * pl.targetDuration;
        const first = pl.segments[0]!.msn;
        if (next === undefined) next = pl.segments[Math.max(0, pl.segments.length - 3)]!.msn;
        if (next < first) next = first; // fell out of the window
        for (const seg of pl.segments) {
          if (seg.msn < next) continue;
          const bytes = await fetchBytes(new URL(seg.uri, url).href, signal);
          if (bytes) record(measurement, extract(bytes));
          next = seg.msn + 1;
        }
        if (pl.endList) return;
      }
      await sleep(((pl?.targetDuration || 2) * 1000) / 2, signal);
    }
  };
}

export const playHls: Player = classicHls('index.m3u8', fmp4Stamps);
export const playHlsTs: Player = classicHls('ts.m3u8', tsStamps);

const after = (p: HlsPart, last: { msn: number; index: number }): boolean => p.msn > last.msn || (p.msn === last.msn && p.index > last.index);

/**
 * LL-HLS (RFC 8216bis §6.2.5.2 blocking reload, §6.3.3 PART-HOLD-BACK): join PART-HOLD-BACK behind
 * the live edge, then `_HLS_msn`/`_HLS_part` blocking reloads and each new part fetched in order.
 */
export const playLlHls: Player = async ({ rtmp, httpBase, signal, measurement }) => {
  const url = `${httpBase}/${rtmp.app}/${rtmp.key}/src/index.m3u8`;
  let last: { msn: number; index: number } | undefined;
  let query = '';
  for (;;) {
    const text = await fetchText(url + query, signal);
    const pl = text === undefined ? undefined : parseMediaPlaylist(text);
    if (!pl || pl.parts.length === 0) {
      query = '';
      await sleep(200, signal);
      continue;
    }
    const holdBack = pl.partHoldBack ?? 3 * (pl.partTarget ?? 0.2);
    measurement.bufferSeconds = holdBack;
    if (last === undefined) {
      // Walk back from the live edge until PART-HOLD-BACK seconds of parts lie ahead.
      let i = pl.parts.length - 1;
      let ahead = pl.parts[i]!.duration;
      while (i > 0 && ahead < holdBack) ahead += pl.parts[--i]!.duration;
      const start = pl.parts[i]!;
      last = { msn: start.msn, index: start.index - 1 };
    }
    for (const part of pl.parts) {
      if (!after(part, last)) continue;
      const bytes = await fetchBytes(new URL(part.uri, url).href, signal);
      if (bytes) record(measurement, fmp4Stamps(bytes));
      last = { msn: part.msn, index: part.index };
    }
    if (pl.endList) return;
    // §6.2.5.2: a part index past the segment's last part means part 0 of the next segment.
    query = `?_HLS_msn=${last.msn}&_HLS_part=${last.index + 1}`;
  }
};

/**
 * Dynamic DASH (ISO/IEC 23009-1 §5.3.9.5.3 segment availability, §5.4 MPD updates): join at
 * now - suggestedPresentationDelay on the media timeline, then fetch each segment once listed.
 */
export const playDash: Player = async ({ rtmp, httpBase, signal, measurement }) => {
  const mpdUrl = `${httpBase}/${rtmp.app}/${rtmp.key}/index.mpd`;
  let next: number | undefined;
  for (;;) {
    const xml = await fetchText(mpdUrl, signal);
    const info = xml === undefined ? undefined : parseMpdRepresentation(xml, 'src');
    let wait = 250;
    if (info && info.segments.length > 0) {
      measurement.bufferSeconds = info.suggestedPresentationDelay;
      const ts = info.timescale;
      const segs = info.segments;
      if (next === undefined) {
        const joinAt = (wallClockMs() - info.availabilityStartTime) / 1000 - info.suggestedPresentationDelay;
        const at = segs.find((s) => (s.t + s.d) / ts > joinAt) ?? segs[segs.length - 1]!;
        next = at.number;
      }
      if (next < segs[0]!.number) next = segs[0]!.number;
      for (const seg of segs) {
        if (seg.number < next) continue;
        const bytes = await fetchBytes(new URL(expandTemplate(info.media, seg), mpdUrl).href, signal);
        if (bytes) record(measurement, fmp4Stamps(bytes));
        next = seg.number + 1;
      }
      // Next segment is expected one duration after the last listed one ends.
      const lastSeg: DashSegmentRef = segs[segs.length - 1]!;
      const expected = info.availabilityStartTime + ((lastSeg.t + 2 * lastSeg.d) / ts) * 1000;
      wait = Math.min(Math.max(expected - wallClockMs(), 100), (lastSeg.d / ts) * 1000);
    }
    await sleep(wait, signal);
  }
};

export const PLAYERS: Record<Protocol, { play: Player; bufferRule: string }> = {
  rtmp: { play: playRtmp, bufferRule: 'none (plays on arrival)' },
  'http-flv': { play: playHttpFlv, bufferRule: 'none (plays on arrival)' },
  hls: { play: playHls, bufferRule: '3 x target duration' },
  'hls-ts': { play: playHlsTs, bufferRule: '3 x target duration' },
  'll-hls': { play: playLlHls, bufferRule: 'PART-HOLD-BACK' },
  dash: { play: playDash, bufferRule: 'suggestedPresentationDelay' },
};
