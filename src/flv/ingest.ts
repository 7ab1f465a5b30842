/**
 * FLV/RTMP media messages -> the stage contract of core/media.ts (Track + Frame).
 *
 * Pure and stateful: no I/O, never throws on bad input. Anything wrong with one message becomes a
 * 'warning' event and the message is dropped, so one broken tag cannot take a stream down.
 *
 * Timing: one shared RtmpClock (32-bit ms, unwrapped) for audio and video. Video is ms * 90 with
 * the composition time added for pts. Audio advances exactly each frame's duration (AAC: its
 * samplesPerFrame; Opus, FLAC, AC-3: from the frame's own header) while that stays within half a
 * frame of the RTMP timestamp, the usual way to undo RTMP's millisecond rounding (1024 / 44100 s
 * is not a whole number of ms).
 */
import { sameBytes } from '../core/bytes.js';
import { sameColour, type ColourInfo } from '../codec/colour.js';
import { GatewayError } from '../core/errors.js';
import { VIDEO_TIMESCALE, type AudioCodec, type AudioTrack, type Frame, type Track, type VideoTrack } from '../core/media.js';
import { inspectAccessUnit } from '../codec/annexb.js';
import { av1SampleData } from '../codec/av1.js';
import { parseVpcRecord, vp9KeyFrameSize } from '../codec/vp9.js';
import { placeAudioFrame, type AudioTimingState } from '../core/audio-timing.js';
import { buildAudioTrack, buildDolbyTrack, buildFlacTrack, buildOpusTrack, buildVideoTrack } from '../codec/tracks.js';
import { audioSamplesOf, type AudioSamples } from '../codec/audio-samples.js';
import type { DolbyConfig } from '../codec/ac3.js';
import { defaultOpusHead } from '../codec/opus.js';
import { RtmpClock } from './clock.js';
import { MAX_AUDIO_RENDITIONS } from '../core/audio-renditions.js';
import { parseAudioTagBody, parseVideoTagBody, type FlvVideoCodec, type SingleAudioTagBody, type SingleVideoTagBody } from './tag.js';

/**
 * `trackId` marks a further track of an Enhanced RTMP multitrack publish: a video track (the
 * encoder's own ladder) or an audio track (an alternative audio rendition), told apart by the
 * track's or frame's kind; events without it belong to the main tracks (track 0).
 */
export type IngestEvent =
  | { type: 'track'; track: Track; trackId?: number }
  | { type: 'frame'; frame: Frame; trackId?: number }
  | { type: 'warning'; code: string; message: string };

/** Further video tracks of a multitrack publish taken at most (OBS sends up to 4 in all). */
const MAX_EXTRA_VIDEO_TRACKS = 7;
/** Further audio tracks taken at most: a stream carries MAX_AUDIO_RENDITIONS audio tracks in all. */
const MAX_EXTRA_AUDIO_TRACKS = MAX_AUDIO_RENDITIONS - 1;

export interface FlvIngestOptions {
  /** A timestamp step larger than this (either way) re-bases the clock. Default 10 s. */
  maxTimestampJumpMs?: number;
}

const DEFAULT_MAX_TIMESTAMP_JUMP_MS = 10_000;
const TICKS_PER_MS = VIDEO_TIMESCALE / 1000;

interface VideoState {
  track: VideoTrack;
  lastDts: number | undefined;
}

interface AudioState extends AudioTimingState {
  track: AudioTrack;
}

/** One audio track's state: the main audio (track 0) or a multitrack publish's further track. */
interface AudioLane {
  state: AudioState | undefined;
  /** E-RTMP v2 MultichannelConfig's channel count, for an Opus sequence start that came empty. */
  multichannelCount: number | undefined;
  /** The AC-3 / E-AC-3 configuration the track was made from (DolbyConfig.layout). */
  dolbyLayout: string | undefined;
}

export class FlvIngest {
  private readonly clock: RtmpClock;
  private video: VideoState | undefined;
  /** Multitrack: the video tracks beyond track 0, by track id. */
  private readonly extraVideo = new Map<number, VideoState>();
  /** VP9 records waiting for a key frame (their picture size), by track id. */
  private readonly pendingVp9 = new Map<number, Uint8Array>();
  /** Audio by track id: 0 is the main audio, others a multitrack publish's further tracks. */
  private readonly audioLanes = new Map<number, AudioLane>([[0, newAudioLane()]]);
  private readonly warnedOnce = new Set<string>();
  /** E-RTMP colorInfo by track id, applied to the track's configuration. */
  private readonly colours = new Map<number, ColourInfo>();

  constructor(opts: FlvIngestOptions = {}) {
    this.clock = new RtmpClock(opts.maxTimestampJumpMs ?? DEFAULT_MAX_TIMESTAMP_JUMP_MS);
  }

  get videoTrack(): VideoTrack | undefined {
    return this.video?.track;
  }

  get audioTrack(): AudioTrack | undefined {
    return this.audioLanes.get(0)!.state?.track;
  }

  /** A data message's RTMP timestamp on the media timeline (seconds), as its frames' would be. */
  mediaSecondsAt(timestamp32: number): number {
    return Math.max(0, this.readClock(timestamp32, [])) / 1000;
  }

  pushVideo(timestamp32: number, payload: Uint8Array, wallclock: number): IngestEvent[] {
    const events: IngestEvent[] = [];
    const body = parsedOrWarned(parseVideoTagBody, payload, 'malformed-video-tag', events);
    if (!body) return events;
    // One clock reading per message, shared by the tracks of a multitrack message.
    let ms: number | undefined;
    const clock = (): number => (ms ??= this.readClock(timestamp32, events));
    if (body.kind !== 'multitrack') {
      this.videoPacket(0, body, clock, wallclock, events);
      return events;
    }
    for (const { trackId, body: packet } of body.tracks) {
      if (trackId !== 0 && !this.extraVideo.has(trackId) && this.extraVideo.size >= MAX_EXTRA_VIDEO_TRACKS) {
        this.warnOnce(events, 'too-many-tracks', 'extra-track', `more than ${MAX_EXTRA_VIDEO_TRACKS + 1} video tracks: track ${trackId} dropped`);
        continue;
      }
      this.videoPacket(trackId, packet, clock, wallclock, events);
    }
    return events;
  }

  /** One track's packet: track 0 is the main video, others are the encoder's further renditions. */
  private videoPacket(trackId: number, body: SingleVideoTagBody, clock: () => number, wallclock: number, events: IngestEvent[]): void {
    switch (body.kind) {
      case 'sequence-header':
        this.onVideoConfig(trackId, body.codec, body.config, events);
        return;
      case 'unsupported':
        this.warnOnce(events, `unsupported-video-${body.codecId}`, 'unsupported-codec', `video codec ${body.codecId} is not supported; video dropped`);
        return;
      case 'ignored':
        return;
      case 'end-of-sequence':
        // E-RTMP v2 SequenceEnd (legacy AVC end of sequence) carries no data, and is not passed on
        // (README, "HEVC, AV1 and VP9"): players relay from our tracks, get a new sequence start
        // when the configuration changes, and are told of the publish's end by StreamEOF and
        // NetStream.Play.UnpublishNotify; FLV demuxers (mpegts.js, flv.js, ffmpeg) skip it anyway.
        // The track stays: a SequenceStart with the same record after it is no new track.
        return;
      case 'colour-info':
        this.onColourInfo(trackId, body.colour, events);
        return;
      case 'frame':
        break;
    }
    let state = this.videoState(trackId);
    if (body.codec === 'vp9' && (!state || state.track.codec !== 'vp9' || this.pendingVp9.has(trackId))) {
      state = this.vp9TrackAt(trackId, body.data, body.key, events) ?? state;
    }
    if (!state || state.track.codec !== body.codec) {
      this.warnOnce(events, `video-before-header-${trackId}`, 'no-sequence-header', `${body.codec} video frame before its sequence header dropped${trackId ? ` (track ${trackId})` : ''}`);
      return;
    }
    let idr: boolean;
    let data = body.data;
    try {
      if (state.track.codec === 'av1') {
        // A temporal unit: the FLV frame type says whether it starts with a key frame (E-RTMP).
        data = av1SampleData(body.data);
        if (data.byteLength === 0) return;
        idr = false;
      } else if (state.track.codec === 'vp9') {
        if (data.byteLength === 0) return;
        idr = false;
      } else {
        const au = inspectAccessUnit(body.data, state.track.nalLengthSize, state.track.codec);
        if (au.nalCount === 0) return;
        idr = au.key;
      }
    } catch (e) {
      if (!(e instanceof GatewayError)) throw e;
      events.push(warning('malformed-access-unit', e.message));
      return;
    }
    const ms = clock();
    let dts = ms * TICKS_PER_MS;
    let pts = (ms + body.compositionTime) * TICKS_PER_MS;
    if (state.lastDts !== undefined && dts <= state.lastDts) {
      // The segmenter and muxers need strictly increasing decode times.
      if (dts < state.lastDts) {
        this.warnOnce(events, 'timestamp-backwards', 'timestamp-backwards', `video timestamp went back ${(state.lastDts - dts) / TICKS_PER_MS} ms; clamped`);
      }
      dts = state.lastDts + 1;
    }
    if (pts < dts) pts = dts;
    state.lastDts = dts;
    const frame: Frame = { kind: 'video', dts, pts, key: body.key || idr, data, wallclock };
    events.push(trackId === 0 ? { type: 'frame', frame } : { type: 'frame', frame, trackId });
  }

  pushAudio(timestamp32: number, payload: Uint8Array, wallclock: number): IngestEvent[] {
    const events: IngestEvent[] = [];
    const body = parsedOrWarned(parseAudioTagBody, payload, 'malformed-audio-tag', events);
    if (!body) return events;
    // One clock reading per message, shared by the tracks of a multitrack message.
    let ms: number | undefined;
    const clock = (): number => (ms ??= this.readClock(timestamp32, events));
    if (body.kind !== 'multitrack') {
      this.audioPacket(0, body, clock, wallclock, events);
      return events;
    }
    for (const { trackId, body: packet } of body.tracks) {
      if (trackId !== 0 && !this.audioLanes.has(trackId) && this.audioLanes.size > MAX_EXTRA_AUDIO_TRACKS) {
        this.warnOnce(events, 'too-many-audio-tracks', 'extra-track', `more than ${MAX_EXTRA_AUDIO_TRACKS + 1} audio tracks: track ${trackId} and any further one dropped`);
        continue;
      }
      this.audioPacket(trackId, packet, clock, wallclock, events);
    }
    return events;
  }

  /** One audio track's packet: track 0 is the main audio (E-RTMP v2's default track). */
  private audioPacket(trackId: number, body: SingleAudioTagBody, clock: () => number, wallclock: number, events: IngestEvent[]): void {
    let lane = this.audioLanes.get(trackId);
    if (!lane) {
      lane = newAudioLane();
      this.audioLanes.set(trackId, lane);
    }
    const ofTrack = trackId === 0 ? '' : ` (track ${trackId})`;
    switch (body.kind) {
      case 'sequence-header':
        this.onAudioConfig(trackId, lane, body.codec, body.config, events);
        return;
      case 'multichannel-config':
        lane.multichannelCount = body.channels;
        return;
      case 'unsupported':
        this.warnOnce(events, `unsupported-audio-${body.soundFormat}-${trackId}`, 'unsupported-codec', `${unsupportedAudio(body.soundFormat)}${ofTrack}`);
        return;
      case 'ignored':
        return;
      case 'frame':
        break;
    }
    if (body.data.byteLength === 0) return;
    let parsed: AudioSamples;
    try {
      parsed = audioSamplesOf(body.codec, body.data, lane.state?.track.samplesPerFrame ?? 0);
    } catch (e) {
      if (!(e instanceof GatewayError)) throw e;
      events.push(warning('malformed-audio-frame', `${e.message}${ofTrack}`));
      return;
    }
    // AC-3 and E-AC-3 have no sequence start: the first syncframe (or a changed one) makes the track.
    if (parsed.dolby) this.onDolbyConfig(trackId, lane, parsed.dolby, events);
    const state = lane.state;
    // An `ec-3` body of plain AC-3 syncframes (bsid <= 8) is an AC-3 track: the syncframes say so.
    const codec = parsed.dolby?.codec ?? body.codec;
    if (!state || state.track.codec !== codec) {
      this.warnOnce(events, `audio-before-header-${codec}-${trackId}`, 'no-sequence-header', `${AUDIO_NAMES[codec]} frame before its sequence header dropped${ofTrack}`);
      return;
    }
    const ms = clock();
    const { sampleRate } = state.track;
    // The message's first sample sits at its RTMP time; the others (FLAC, AC-3 bodies of several
    // frames) follow it seamlessly.
    let anchor: number | undefined = Math.round((ms * sampleRate) / 1000);
    for (const sample of parsed.samples) {
      const placed = placeAudioFrame(state, anchor, sample.duration, sampleRate);
      anchor = undefined;
      if (placed.dts === undefined) {
        if (placed.behindMs !== undefined) events.push(warning('audio-resync', `audio timestamp ${placed.behindMs} ms behind the audio clock; dropping until it catches up${ofTrack}`));
        return;
      }
      if (placed.forwardMs !== undefined) events.push(warning('audio-resync', `audio re-anchored ${placed.forwardMs} ms forward to the RTMP timestamp${ofTrack}`));
      const dts = placed.dts;
      // Codecs whose frames vary in length carry each one's duration (core/media.ts Frame.duration).
      const frame: Frame =
        codec === 'aac'
          ? { kind: 'audio', dts, pts: dts, key: true, data: sample.data, wallclock }
          : { kind: 'audio', dts, pts: dts, key: true, data: sample.data, duration: sample.duration, wallclock };
      events.push(trackId === 0 ? { type: 'frame', frame } : { type: 'frame', frame, trackId });
    }
  }

  private readClock(timestamp32: number, events: IngestEvent[]): number {
    const reading = this.clock.read(timestamp32);
    if (reading.discontinuityMs !== undefined) {
      events.push(warning('timestamp-jump', `timestamp jumped ${reading.discontinuityMs} ms; clock re-based to stay continuous`));
    }
    return reading.ms;
  }

  private onVideoConfig(trackId: number, codec: FlvVideoCodec, config: Uint8Array, events: IngestEvent[]): void {
    const previous = this.videoState(trackId);
    const current = previous?.track;
    if (current && current.codec === codec && sameBytes(current.config, config)) return;
    if (codec === 'vp9') {
      // The record has no picture size: the track is made at the next key frame.
      try {
        parseVpcRecord(config);
      } catch (e) {
        if (!(e instanceof GatewayError)) throw e;
        events.push(warning('bad-sequence-header', e.message));
        return;
      }
      this.pendingVp9.set(trackId, config.slice());
      return;
    }
    let track: VideoTrack;
    try {
      track = buildVideoTrack(codec, config.slice());
    } catch (e) {
      if (!(e instanceof GatewayError)) throw e;
      events.push(warning('bad-sequence-header', e.message));
      return;
    }
    this.setVideoTrack(trackId, track, events);
  }

  /** A VP9 track from its pending record and this key frame's size; undefined until a key frame comes. */
  private vp9TrackAt(trackId: number, frame: Uint8Array, key: boolean, events: IngestEvent[]): VideoState | undefined {
    const config = this.pendingVp9.get(trackId);
    if (!config || !key) return undefined;
    let track: VideoTrack;
    try {
      const size = vp9KeyFrameSize(frame);
      if (!size) return undefined;
      track = buildVideoTrack('vp9', config, size);
    } catch (e) {
      if (!(e instanceof GatewayError)) throw e;
      events.push(warning('bad-sequence-header', e.message));
      return undefined;
    }
    this.pendingVp9.delete(trackId);
    return this.setVideoTrack(trackId, track, events);
  }

  /** Track 0 is the main video; others are a multitrack publish's further tracks. */
  private videoState(trackId: number): VideoState | undefined {
    return trackId === 0 ? this.video : this.extraVideo.get(trackId);
  }

  /**
   * E-RTMP colorInfo (VideoPacketType.Metadata) for `trackId`: it applies from the next frame on
   * ("invalidates and replaces the current one"), so a track already made is made again with it.
   */
  private onColourInfo(trackId: number, colour: ColourInfo | undefined, events: IngestEvent[]): void {
    if (sameColour(this.colours.get(trackId), colour)) return;
    if (colour) this.colours.set(trackId, colour);
    else this.colours.delete(trackId);
    const state = this.videoState(trackId);
    if (state) this.setVideoTrack(trackId, state.track, events);
  }

  private setVideoTrack(trackId: number, made: VideoTrack, events: IngestEvent[]): VideoState {
    const colour = this.colours.get(trackId);
    const { colour: _previous, ...plain } = made;
    const track: VideoTrack = colour ? { ...plain, colour } : plain;
    const state = { track, lastDts: this.videoState(trackId)?.lastDts };
    if (trackId === 0) {
      this.video = state;
      events.push({ type: 'track', track });
    } else {
      this.extraVideo.set(trackId, state);
      events.push({ type: 'track', track, trackId });
    }
    return state;
  }

  private onAudioConfig(trackId: number, lane: AudioLane, codec: AudioCodec, received: Uint8Array, events: IngestEvent[]): void {
    // E-RTMP v2: an empty Opus sequence start means mono/stereo, from MultichannelConfig if sent.
    const config = codec === 'opus' && received.byteLength === 0 ? defaultOpusHead(lane.multichannelCount ?? 2) : received;
    const current = lane.state?.track;
    if (current && current.codec === codec && sameBytes(current.config, config)) return;
    // AC-3 and E-AC-3 have no sequence start (tag.ts ignores one): their tracks come from frames.
    if (codec === 'ac3' || codec === 'eac3') return;
    let track: AudioTrack;
    try {
      const owned = config.slice();
      track = codec === 'opus' ? buildOpusTrack(owned) : codec === 'flac' ? buildFlacTrack(owned) : buildAudioTrack(owned);
    } catch (e) {
      if (!(e instanceof GatewayError)) throw e;
      events.push(warning('bad-sequence-header', `${e.message}${trackId === 0 ? '' : ` (audio track ${trackId})`}`));
      return;
    }
    lane.dolbyLayout = undefined;
    this.setAudioTrack(trackId, lane, track, events);
  }

  /** AC-3 / E-AC-3: a track from the syncframes' own configuration, made again when that changes. */
  private onDolbyConfig(trackId: number, lane: AudioLane, config: DolbyConfig, events: IngestEvent[]): void {
    if (lane.state?.track.codec === config.codec && lane.dolbyLayout === config.layout) return;
    lane.dolbyLayout = config.layout;
    this.setAudioTrack(trackId, lane, buildDolbyTrack(config), events);
  }

  private setAudioTrack(trackId: number, lane: AudioLane, track: AudioTrack, events: IngestEvent[]): void {
    const current = lane.state;
    // A new sample rate is a new timescale: the previous dts values mean nothing in it.
    const keep = current && current.track.sampleRate === track.sampleRate ? current : undefined;
    lane.state = { track, lastDts: keep?.lastDts, nextDts: keep?.nextDts, dropping: false };
    events.push(trackId === 0 ? { type: 'track', track } : { type: 'track', track, trackId });
  }

  private warnOnce(events: IngestEvent[], key: string, code: string, message: string): void {
    if (this.warnedOnce.has(key)) return;
    this.warnedOnce.add(key);
    events.push(warning(code, message));
  }
}

/** A tag body parsed, or undefined with a warning when the bytes are malformed (the publisher goes on). */
function parsedOrWarned<T>(parse: (payload: Uint8Array) => T, payload: Uint8Array, code: string, events: IngestEvent[]): T | undefined {
  try {
    return parse(payload);
  } catch (e) {
    if (!(e instanceof GatewayError)) throw e;
    events.push(warning(code, e.message));
    return undefined;
  }
}

const AUDIO_NAMES: Readonly<Record<AudioCodec, string>> = { aac: 'AAC', opus: 'Opus', flac: 'FLAC', ac3: 'AC-3', eac3: 'E-AC-3' };

/** Why an audio format is dropped, and what the publisher can send instead. */
function unsupportedAudio(format: number | string): string {
  return typeof format === 'string'
    ? `Enhanced RTMP audio FourCC '${format}' is not supported (carried: mp4a, Opus, fLaC, ac-3, ec-3); audio dropped`
    : `audio format ${format} is not supported (carried: AAC, and over Enhanced RTMP Opus, FLAC, AC-3, E-AC-3); audio dropped`;
}

function newAudioLane(): AudioLane {
  return { state: undefined, multichannelCount: undefined, dolbyLayout: undefined };
}

function warning(code: string, message: string): IngestEvent {
  return { type: 'warning', code, message };
}

