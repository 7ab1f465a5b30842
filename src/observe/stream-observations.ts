/**
 * What the observers know about one stream, in the shape proposed for `/api/streams`
 * (spread into StreamView by the lead: `{ ...streamView(output), ...observationsOf(output.stream, viewers) }`).
 */
import type { LiveStream } from '../core/stream.js';
import { checkerOf, type IngestWarningView } from './ingest-checker.js';
import { emptyProtocolCounts, type ViewerProtocol, type ViewerTracker } from './viewers.js';

export interface StreamObservations {
  viewers: number;
  viewersByProtocol: Record<ViewerProtocol, number>;
  viewersByRendition: Record<string, number>;
  bytesServed: number;
  warnings: IngestWarningView[];
}

export function observationsOf(stream: LiveStream, viewers: ViewerTracker | undefined): StreamObservations {
  const counts = viewers?.viewersOf(stream.app, stream.key);
  return {
    viewers: counts?.total ?? 0,
    viewersByProtocol: counts?.byProtocol ?? emptyProtocolCounts(),
    viewersByRendition: counts?.byRendition ?? {},
    bytesServed: counts?.bytesServed ?? 0,
    warnings: checkerOf(stream)?.view() ?? [],
  };
}
