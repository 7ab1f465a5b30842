/**
 * Typed model of an MPEG-DASH Media Presentation Description (ISO/IEC 23009-1, 5th ed.).
 * `mpd.ts` fills it from the packager state; `serialize.ts` turns it into XML. Nothing else
 * writes MPD syntax.
 *
 * Units: wall-clock instants are ms since the epoch; durations are seconds (xs:duration in the
 * XML); media times (`t`, `d`, presentationTime) are integer ticks of the stated timescale.
 *
 *   MPD ─ ServiceDescription*            (§K: latency targets, playback rate)
 *       ─ Period+ ─ AdaptationSet+ ─ AudioChannelConfiguration* ProducerReferenceTime* Role*
 *       │                          └ Representation+ ─ AudioChannelConfiguration*
 *       │                                           └ SegmentTemplate ─ SegmentTimeline ─ S+
 *       ─ UTCTiming*                     (§5.8.4.11; after Period in the schema's sequence)
 */

/** A scheme/value pair: Role, AudioChannelConfiguration, UTCTiming (§5.8.2 DescriptorType). */
export interface Descriptor {
  readonly schemeIdUri: string;
  readonly value?: string;
}

/** §5.3.9.6: one S element. `t` only where the timeline is not contiguous; `r` repeats `d`. */
export interface TimelineEntry {
  readonly t?: number;
  readonly d: number;
  /** Additional repeats of `d` (0 = this segment only). */
  readonly r?: number;
}

/** §5.3.9.4 SegmentTemplate with a §5.3.9.6 SegmentTimeline. */
export interface SegmentTemplate {
  readonly timescale: number;
  /** URL template with $RepresentationID$ / $Number$ (§5.3.9.4.4). */
  readonly media: string;
  readonly initialization: string;
  readonly startNumber: number;
  readonly presentationTimeOffset: number;
  /** Seconds a segment is available before its end (§5.3.9.5.3; LL-DASH chunked delivery). */
  readonly availabilityTimeOffset?: number;
  /** false: at the availability time only a prefix of the segment exists (LL-DASH). */
  readonly availabilityTimeComplete?: boolean;
  readonly timeline: readonly TimelineEntry[];
}

export interface Representation {
  readonly id: string;
  /** bits per second (§5.3.5.2). */
  readonly bandwidth: number;
  readonly codecs: string;
  readonly width?: number;
  readonly height?: number;
  /** FrameRateType: an integer or a fraction, e.g. `30000/1001`. */
  readonly frameRate?: string;
  readonly sar?: string;
  readonly audioSamplingRate?: number;
  readonly audioChannelConfiguration?: readonly Descriptor[];
  readonly segmentTemplate: SegmentTemplate;
}

/** §5.12 ProducerReferenceTime: maps a media time to the producer's wall clock. */
export interface ProducerReferenceTime {
  readonly id: number;
  readonly type: 'encoder' | 'captured' | 'application';
  /** ms since epoch. */
  readonly wallClockTime: number;
  /** Ticks of the enclosing SegmentTemplate's timescale. */
  readonly presentationTime: number;
  /** The clock the wall-clock time was taken from. */
  readonly utcTiming?: Descriptor;
}

export interface AdaptationSet {
  readonly id: number;
  readonly contentType: 'video' | 'audio' | 'text';
  readonly mimeType: string;
  readonly lang?: string;
  readonly segmentAlignment: boolean;
  readonly startWithSap?: number;
  readonly maxWidth?: number;
  readonly maxHeight?: number;
  readonly par?: string;
  readonly audioChannelConfiguration?: readonly Descriptor[];
  /** §5.8.4.1 ContentProtection: Common Encryption and the DRM systems that can open it. */
  readonly contentProtections?: readonly ContentProtection[];
  /** §5.8.4.x SupplementalProperty, e.g. period continuity (§5.3.2.4, PERIOD_CONTINUITY). */
  readonly supplementalProperties?: readonly Descriptor[];
  readonly producerReferenceTimes?: readonly ProducerReferenceTime[];
  /** §5.8.4.3 Accessibility, e.g. CEA-608 captions in the video (`urn:scte:dash:cc:cea-608:2015`). */
  readonly accessibilities?: readonly Descriptor[];
  readonly roles?: readonly Descriptor[];
  readonly representations: readonly Representation[];
}

/**
 * §5.8.4.1 ContentProtection. The mp4protection descriptor (§5.8.5.2) names the scheme and the
 * default KID (`cenc:default_KID`, ISO/IEC 23001-7 §11.2); a DRM system's descriptor
 * (`urn:uuid:SYSTEM`) may carry its `cenc:pssh` and its licence URL (DASH-IF IOP `dashif:Laurl`, the case Shaka needs).
 */
export interface ContentProtection {
  readonly schemeIdUri: string;
  readonly value?: string;
  /** 8-4-4-4-12 UUID form of the KID. */
  readonly defaultKid?: string;
  /** Base64 pssh box. */
  readonly pssh?: string;
  readonly laUrl?: string;
}

export const MP4_PROTECTION_SCHEME = 'urn:mpeg:dash:mp4protection:2011';
/** DASH-IF's ClearKey system id, the one dash.js and Shaka map to `org.w3.clearkey`. */
export const CLEARKEY_SCHEME = 'urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e';
export const CENC_NAMESPACE = 'urn:mpeg:cenc:2013';
export const DASHIF_NAMESPACE = 'https://dashif.org/CPS';

/** §5.10.2 an Event of an EventStream: timed metadata at a Period-relative presentation time. */
export interface MpdEvent {
  /** xs:unsignedInt (§5.10.2.2). */
  readonly id: number;
  /** Ticks of the EventStream's timescale from the Period's start. */
  readonly presentationTime: number;
  readonly duration?: number;
  /** Base64 payload (`contentEncoding="base64"`, DASH 4th ed. §5.10.2.2). */
  readonly messageData?: string;
  /** SCTE 214-1 `urn:scte:scte35:2014:xml+bin`: the splice_info_section, base64, in <Signal><Binary>. */
  readonly scte35Binary?: string;
}

/** §5.10.2 EventStream: the events of one scheme in a Period. */
export interface EventStream {
  readonly schemeIdUri: string;
  readonly value?: string;
  readonly timescale: number;
  readonly events: readonly MpdEvent[];
}

/** SCTE 214-1 §5.3.1 (via DASH-IF IOP §9.2): SCTE-35 in an MPD EventStream as binary in XML. */
/** SCTE 214-1 §6.1 (DASH-IF IOP §6.4.3.3): CEA-608 captions carried in the video's SEI. */
export const CEA608_SCHEME = 'urn:scte:dash:cc:cea-608:2015';

export const SCTE35_XML_BIN_SCHEME = 'urn:scte:scte35:2014:xml+bin';
export const SCTE35_NAMESPACE = 'http://www.scte.org/schemas/35/2016';

export interface Period {
  readonly id: string;
  /** Seconds from availabilityStartTime (dynamic) or presentation start (static). */
  readonly start: number;
  readonly eventStreams?: readonly EventStream[];
  readonly adaptationSets: readonly AdaptationSet[];
}

/** Annex K.4 (5th ed.): the service's latency and playback-rate envelope. */
export interface ServiceDescription {
  readonly id: number;
  /** Milliseconds; referenceId names the ProducerReferenceTime the latency is measured against. */
  readonly latency?: { readonly target: number; readonly min?: number; readonly max?: number; readonly referenceId?: number };
  readonly playbackRate?: { readonly min: number; readonly max: number };
}

export type MpdType = 'static' | 'dynamic';

export interface Mpd {
  readonly type: MpdType;
  readonly profiles: readonly string[];
  /** ms since epoch; required for dynamic (§5.3.1.2). */
  readonly availabilityStartTime?: number;
  /** ms since epoch. */
  readonly publishTime?: number;
  /** Seconds; absent: the MPD never changes (static, or a dynamic one that has ended). */
  readonly minimumUpdatePeriod?: number;
  readonly timeShiftBufferDepth?: number;
  readonly suggestedPresentationDelay?: number;
  readonly maxSegmentDuration?: number;
  readonly minBufferTime: number;
  readonly mediaPresentationDuration?: number;
  readonly serviceDescriptions?: readonly ServiceDescription[];
  readonly periods: readonly Period[];
  readonly utcTimings?: readonly Descriptor[];
}

export const DASH_NAMESPACE = 'urn:mpeg:dash:schema:mpd:2011';
export const PROFILE_ISOFF_LIVE = 'urn:mpeg:dash:profile:isoff-live:2011';
export const PROFILE_CMAF = 'urn:mpeg:dash:profile:cmaf:2019';
/** ISO/IEC 23009-1 §5.8.5.7: GET returns an xs:dateTime (our /api/time answers ISO 8601). */
export const UTC_HTTP_ISO = 'urn:mpeg:dash:utc:http-iso:2014';
export const ROLE_SCHEME = 'urn:mpeg:dash:role:2011';
/**
 * §5.3.2.4 / DASH-IF IOP 4.3 §3.2.12: the AdaptationSet continues the one with the same @id in
 * the Period whose @id is the value, seamlessly (same init, media continuing exactly).
 */
export const PERIOD_CONTINUITY = 'urn:mpeg:dash:period-continuity:2015';
/** ISO/IEC 23001-8 (CICP) ChannelConfiguration index. */
export const CICP_CHANNEL_CONFIGURATION = 'urn:mpeg:mpegB:cicp:ChannelConfiguration';
/** §5.8.5.4: plain channel count, for layouts CICP has no index for. */
export const DASH_CHANNEL_COUNT = 'urn:mpeg:dash:23003:3:audio_channel_configuration:2011';
