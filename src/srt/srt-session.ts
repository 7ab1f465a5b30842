/**
 * One SRT caller's publish: its streamid names the stream, the publish path authorizes and starts
 * it (keys, tokens, webhook, limits: the same as RTMP), and the MPEG-TS it carries goes through
 * our TS demuxer into the same Publisher calls the RTMP session makes. No sockets here: bytes come
 * in through `data`, and `close` is how this session drops its caller.
 *
 * The first video PID and the first audio PID (in PMT order) of the program are the stream's
 * tracks; every further audio PID is an alternative audio rendition in the language of its
 * ISO_639_language_descriptor (core/audio-renditions.ts names it), up to MAX_AUDIO_RENDITIONS
 * audio tracks in all; further video PIDs, and audio PIDs beyond that, are dropped with a warning.
 */
import type { Logger } from 'pino';
import { audioRenditionIds, MAIN_AUDIO_RENDITION, MAX_AUDIO_RENDITIONS } from '../core/audio-renditions.js';
import type { PublishPath, Publisher, PublishRequest } from '../core/publish.js';
import { TsDemuxer, type TsDemuxEvent } from '../mux/ts/demuxer.js';
import { parseSrtStreamId } from './stream-id.js';

/** Bytes held while the publish is being authorized (a webhook answers within seconds). */
const MAX_HELD_BYTES = 4 * 1024 * 1024;

export interface SrtSessionOptions {
  readonly streamid: string;
  /** `IP:PORT` of the caller. */
  readonly peer: string;
  readonly publishPath: PublishPath;
  readonly logger: Logger;
  /** Drops the caller (the SRT connection is closed). */
  readonly close: (reason: string) => void;
}

type State = 'authorizing' | 'publishing' | 'closed';

export class SrtPublishSession {
  private readonly options: SrtSessionOptions;
  private log: Logger;
  private state: State = 'authorizing';
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  private publisher: Publisher | undefined;
  private readonly demuxer = new TsDemuxer();
  private videoPid: number | undefined;
  /** Audio PIDs and the rendition each feeds (`audio` the stream's own), fixed at their first track. */
  private readonly audioRenditions = new Map<number, string>();
  private readonly ignoredPids = new Set<number>();
  /** The program's video was declared to the stream (metadata). */
  private declared = false;

  constructor(options: SrtSessionOptions) {
    this.options = options;
    this.log = options.logger;
  }

  /** The caller is connected: name, authorize and start its publish. */
  begin(): void {
    const parsed = parseSrtStreamId(this.options.streamid);
    if (!parsed.ok) return this.refuse(parsed.reason);
    const { app, key, query, mode } = parsed.request;
    if (mode !== 'publish') return this.refuse('playing over SRT is not offered (use HLS, DASH, RTMP or HTTP-FLV)');
    const request: PublishRequest = { app, key, query, ip: hostOf(this.options.peer) };
    this.log = this.log.child({ stream: `${app}/${key}` });
    void this.options.publishPath
      .authorize(request)
      .then((decision) => {
        if (this.state === 'closed') return;
        if (!decision.ok) return this.refuse(decision.reason);
        const started = this.options.publishPath.start(request, this.options.logger);
        if (!started.ok) return this.refuse(started.reason);
        this.publisher = started;
        this.log = started.log;
        started.onTerminate = (reason) => this.drop(reason);
        this.state = 'publishing';
        this.log.info({ peer: this.options.peer }, 'srt publish started');
        const held = this.held;
        this.held = [];
        this.heldBytes = 0;
        for (const chunk of held) this.feed(chunk);
      })
      .catch((err: unknown) => {
        this.log.error({ err: (err as Error).message }, 'srt publish failed');
        this.drop('publish failed');
      });
  }

  /** MPEG-TS bytes from the caller. */
  data(bytes: Uint8Array): void {
    if (this.state === 'publishing') {
      this.feed(bytes);
    } else if (this.state === 'authorizing') {
      this.heldBytes += bytes.byteLength;
      if (this.heldBytes > MAX_HELD_BYTES) return this.drop('too much data while the publish was being authorized');
      // A view is enough: the relay's chunks are never reused (srt-relay.ts SrtDataEvent).
      this.held.push(bytes);
    }
  }

  /** The caller left (or the relay closed it). Idempotent. */
  end(reason: string): void {
    if (this.state === 'closed') return;
    const publisher = this.publisher;
    if (publisher) this.handle(this.demuxer.flush(now()), publisher, now());
    this.state = 'closed';
    this.held = [];
    publisher?.end(`srt: ${reason}`);
  }

  private feed(bytes: Uint8Array): void {
    const publisher = this.publisher!;
    const at = now();
    const events = this.demuxer.push(bytes, at);
    if (!this.declared) {
      // As onMetaData does for RTMP: a program with video makes audio wait for it instead of
      // leading on its own (the first audio PES often comes before the first whole video PES).
      const video = this.demuxer.programVideo;
      if (video !== undefined) {
        this.declared = true;
        publisher.metadata({ videocodecid: video === 'hevc' ? 12 : 7, audiocodecid: 10 });
      }
    }
    this.handle(events, publisher, at);
  }

  private handle(events: readonly TsDemuxEvent[], publisher: Publisher, at: number): void {
    for (const event of events) {
      switch (event.type) {
        case 'track': {
          const track = event.track;
          if (track.kind === 'audio') {
            const place = this.ignoredPids.has(event.pid) ? undefined : this.audioRenditionOf(event.pid);
            if (place === undefined) break;
            if (typeof place === 'string') {
              this.dropTrack(publisher, event.pid, 'audio', event.language, place, at);
            } else if (place.id === MAIN_AUDIO_RENDITION) {
              publisher.audioLanguage(event.language);
              publisher.track(track);
            } else if (!publisher.audioRenditionTrack(place.id, track, event.language)) {
              this.audioRenditions.delete(event.pid);
              this.dropTrack(publisher, event.pid, 'audio', event.language, `at most ${MAX_AUDIO_RENDITIONS} audio tracks per stream are carried`, at);
            }
            break;
          }
          this.videoPid ??= event.pid;
          if (this.videoPid !== event.pid) {
            this.dropTrack(publisher, event.pid, 'video', event.language, 'one video track per stream is carried', at);
            break;
          }
          publisher.track(track);
          break;
        }
        case 'frame': {
          if (event.pid === this.videoPid) {
            publisher.frame(event.frame);
            break;
          }
          const id = this.audioRenditions.get(event.pid);
          if (id === MAIN_AUDIO_RENDITION) publisher.frame(event.frame);
          else if (id !== undefined) publisher.audioRenditionFrame(id, event.frame);
          break;
        }
        case 'warning':
          publisher.warning(event.code, event.message, at);
          break;
      }
    }
  }

  /**
   * The rendition an audio PID feeds, fixed at its first track: its place among the program's
   * audio PIDs in PMT order names it (the first is the stream's audio). A string says why not.
   */
  private audioRenditionOf(pid: number): { id: string } | string {
    const known = this.audioRenditions.get(pid);
    if (known !== undefined) return { id: known };
    const program = this.demuxer.programAudio;
    const index = program.findIndex((a) => a.pid === pid);
    if (index < 0) return 'the PMT does not list it';
    const id = audioRenditionIds(program.map((a) => a.language))[index];
    if (id === undefined) return `at most ${MAX_AUDIO_RENDITIONS} audio tracks per stream are carried`;
    // A new PMT version that reorders the audio PIDs: a rendition keeps the PID it started with.
    if ([...this.audioRenditions.values()].includes(id)) return `its place (${id}) is another PID's`;
    this.audioRenditions.set(pid, id);
    return { id };
  }

  private dropTrack(publisher: Publisher, pid: number, kind: 'video' | 'audio', language: string | undefined, why: string, at: number): void {
    if (this.ignoredPids.has(pid)) return;
    this.ignoredPids.add(pid);
    publisher.warning('extra-track', `${kind} track on PID ${pid}${language ? ` (${language})` : ''} dropped: ${why}`, at);
  }

  private refuse(reason: string): void {
    this.log.warn({ peer: this.options.peer, reason }, 'srt publish refused');
    this.drop(reason);
  }

  private drop(reason: string): void {
    if (this.state === 'closed') return;
    this.options.close(reason);
    this.end(reason);
  }
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

/** The address part of `IP:PORT` (IPv6 addresses keep their colons). */
export function hostOf(peer: string): string {
  const colon = peer.lastIndexOf(':');
  return colon > 0 ? peer.slice(0, colon).replace(/^\[|\]$/g, '') : peer;
}
