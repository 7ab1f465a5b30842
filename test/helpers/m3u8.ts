import { Parser, type M3u8Manifest } from 'm3u8-parser';

/** Parses with m3u8-parser and fails on any warning it raises. */
export function parseM3u8(text: string): M3u8Manifest {
  const parser = new Parser();
  const warnings: string[] = [];
  parser.on('warn', (w) => warnings.push(w.message));
  parser.push(text);
  parser.end();
  if (warnings.length) throw new Error(`m3u8-parser warnings:\n${warnings.join('\n')}\n---\n${text}`);
  return parser.manifest;
}
