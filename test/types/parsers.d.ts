// Minimal typings for the independent parsers used to validate our output in tests.
declare module 'm3u8-parser' {
  export interface M3u8Segment {
    uri: string;
    duration: number;
    timeline: number;
    discontinuity?: boolean;
    dateTimeString?: string;
    map?: { uri: string };
    parts?: Array<{ uri: string; duration: number; independent?: boolean }>;
  }
  export interface M3u8Playlist {
    uri: string;
    attributes: Record<string, unknown> & {
      BANDWIDTH?: number;
      'AVERAGE-BANDWIDTH'?: number;
      CODECS?: string;
      RESOLUTION?: { width: number; height: number };
      'FRAME-RATE'?: number;
      AUDIO?: string;
    };
  }
  export interface M3u8Manifest {
    allowCache?: boolean;
    endList?: boolean;
    mediaSequence?: number;
    discontinuitySequence?: number;
    targetDuration?: number;
    version?: number;
    independentSegments?: boolean;
    segments: M3u8Segment[];
    playlists?: M3u8Playlist[];
    mediaGroups?: { AUDIO?: Record<string, Record<string, { uri?: string; default?: boolean; autoselect?: boolean; language?: string }>> };
    partInf?: { partTarget: number };
    serverControl?: Record<string, unknown>;
    preloadSegment?: { parts?: Array<{ uri: string; duration: number }>; preloadHints?: Array<{ type: string; uri: string }> };
    renditionReports?: Array<Record<string, unknown>>;
    partTargetDuration?: number;
    skip?: { skippedSegments: number };
  }
  export class Parser {
    manifest: M3u8Manifest;
    on(event: 'warn' | 'info', cb: (e: { message: string }) => void): void;
    push(text: string): void;
    end(): void;
  }
}
declare module 'mpd-parser' {
  export function parse(manifest: string, options?: { manifestUri?: string; NOW?: number; clientOffset?: number }): {
    playlists: Array<{ attributes: Record<string, unknown>; segments: Array<{ uri: string; resolvedUri: string; duration: number; number: number; map?: { uri: string; resolvedUri: string } }> }>;
    mediaGroups: { AUDIO: Record<string, Record<string, { language?: string; default?: boolean; playlists: Array<{ attributes: Record<string, unknown>; segments: Array<{ uri: string; resolvedUri: string; number: number; map?: { resolvedUri: string } }> }> }>> };
    duration?: number;
    minimumUpdatePeriod?: number;
  };
}
