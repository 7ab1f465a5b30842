/** Public API of the latency probe. */
export { measureLatency, type MeasureOptions } from './measure.js';
export { renderSvg, renderTable } from './render.js';
export { LatencyReportSchema, GLASS_TO_GLASS_FORMULA, PROTOCOLS, type LatencyReport, type Protocol, type ProtocolRow } from './report.js';
