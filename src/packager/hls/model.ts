/**
 * Typed models of HLS playlists (RFC 8216bis). Builders fill them from the packager's state;
 * `serialize.ts` turns them into text. Nothing else writes playlist syntax.
 */

export interface HlsPart {
  readonly duration: number;
  readonly uri: string;
  readonly independent: boolean;
}

export interface HlsSegment {
  readonly sequence: number;
  readonly duration: number;
  readonly uri: string;
  /** EXT-X-MAP URI when it differs from the previous segment's (or on the first listed). */
  readonly map?: string;
  readonly discontinuity: boolean;
  /** EXT-X-GAP: no media behind this URI. */
  readonly gap?: boolean;
  /** ms since epoch. */
  readonly programDateTime?: number;
  /** LL-HLS parts, listed for the most recent segments only. */
  readonly parts?: readonly HlsPart[];
  /** AES-128: the key (URI) and IV of this segment and its parts (EXT-X-KEY, §4.4.4.4). */
  readonly key?: HlsKey;
}

export interface HlsKey {
  readonly uri: string;
  /** 0x + 32 hex digits. */
  readonly iv: string;
}

/**
 * Common Encryption ('cbcs') of fMP4 media (§4.4.4.4 METHOD=SAMPLE-AES): one tag per DRM system
 * that can open it, for every segment of the playlist (EXT-X-KEY) or for the session
 * (EXT-X-SESSION-KEY, §4.4.6.5).
 */
export interface HlsSampleAesKey {
  readonly uri: string;
  /** KEYID=0x…: the KID (the Widevine HLS spec requires it; hls.js reads it for every format). */
  readonly keyId: string;
  readonly keyFormat: string;
  readonly keyFormatVersions: string;
}

export interface HlsServerControl {
  readonly canBlockReload: boolean;
  readonly partHoldBack?: number;
  readonly holdBack?: number;
  readonly canSkipUntil?: number;
}

export interface HlsRenditionReport {
  readonly uri: string;
  readonly lastMsn: number;
  readonly lastPart?: number;
}

export interface MediaPlaylist {
  readonly version: number;
  readonly targetDuration: number;
  readonly mediaSequence: number;
  readonly discontinuitySequence: number;
  readonly independentSegments: boolean;
  readonly partTarget?: number;
  readonly serverControl?: HlsServerControl;
  /** EXT-X-SKIP: segments omitted from a delta update. */
  readonly skippedSegments?: number;
  /** EXT-X-DATERANGE attribute lists (RFC 8216bis §4.4.5.1), timed metadata within the window. */
  readonly dateRanges?: readonly string[];
  /** SAMPLE-AES keys of every segment (Common Encryption), said once before the first. */
  readonly sampleAesKeys?: readonly HlsSampleAesKey[];
  readonly segments: readonly HlsSegment[];
  /** Parts of the segment in progress (listed after the last complete segment). */
  readonly openParts?: readonly HlsPart[];
  /** The segment in progress follows a discontinuity / needs a new EXT-X-MAP: said before its parts. */
  readonly openDiscontinuity?: boolean;
  readonly openMap?: string;
  readonly openKey?: HlsKey;
  readonly preloadHintUri?: string;
  readonly renditionReports?: readonly HlsRenditionReport[];
  readonly endList: boolean;
}

export interface HlsAudioMedia {
  readonly groupId: string;
  readonly name: string;
  readonly uri: string;
  readonly isDefault: boolean;
  readonly channels?: number;
  readonly language?: string;
}

export interface HlsVariant {
  readonly uri: string;
  readonly bandwidth: number;
  readonly averageBandwidth?: number;
  readonly codecs: string;
  readonly resolution?: { readonly width: number; readonly height: number };
  readonly frameRate?: number;
  /** RFC 8216bis §4.4.6.2 VIDEO-RANGE: written for PQ and HLG (absent means SDR). */
  readonly videoRange?: 'SDR' | 'PQ' | 'HLG';
  readonly audioGroup?: string;
  /** GROUP-ID of the CLOSED-CAPTIONS renditions its video carries in-band. */
  readonly closedCaptions?: string;
  /** GROUP-ID of the SUBTITLES renditions that go with it. */
  readonly subtitles?: string;
}

/** RFC 8216bis §4.4.6.1: in-band CEA-608 captions (no URI; INSTREAM-ID names the channel). */
export interface HlsClosedCaptionsMedia {
  readonly groupId: string;
  readonly name: string;
  /** CC1..CC4 (CEA-608). */
  readonly instreamId: string;
  readonly isDefault: boolean;
}

/** RFC 8216bis §4.4.6.1: a WebVTT subtitles rendition. */
export interface HlsSubtitlesMedia {
  readonly groupId: string;
  readonly name: string;
  /** RFC 5646. */
  readonly language: string;
  readonly uri: string;
  readonly isDefault: boolean;
}

export interface MultivariantPlaylist {
  readonly version: number;
  readonly independentSegments: boolean;
  readonly audio: readonly HlsAudioMedia[];
  readonly closedCaptions?: readonly HlsClosedCaptionsMedia[];
  readonly subtitles?: readonly HlsSubtitlesMedia[];
  /** EXT-X-SESSION-KEY: players may open the DRM session before loading a media playlist. */
  readonly sessionKeys?: readonly HlsSampleAesKey[];
  readonly variants: readonly HlsVariant[];
}
