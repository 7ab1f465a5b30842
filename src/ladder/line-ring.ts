/**
 * The last N lines a child wrote to stderr, for the log line that explains a crash. Bounded in
 * lines and in line length, whatever the child writes (ffmpeg can print megabytes of warnings).
 */
export class LineRing {
  private readonly lines: string[] = [];
  private partial = '';
  private readonly maxLines: number;
  private readonly maxLineLength: number;

  constructor(maxLines = 40, maxLineLength = 512) {
    this.maxLines = Math.max(1, maxLines);
    this.maxLineLength = Math.max(16, maxLineLength);
  }

  push(text: string): void {
    const parts = (this.partial + text).split(/\r?\n|\r/);
    this.partial = this.clip(parts.pop() ?? '');
    for (const line of parts) if (line.length > 0) this.add(this.clip(line));
  }

  /** Completed lines plus the unterminated tail, oldest first. */
  tail(): string[] {
    return this.partial ? [...this.lines, this.partial] : [...this.lines];
  }

  last(): string | undefined {
    return this.partial || this.lines[this.lines.length - 1];
  }

  clear(): void {
    this.lines.length = 0;
    this.partial = '';
  }

  private add(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.maxLines) this.lines.splice(0, this.lines.length - this.maxLines);
  }

  private clip(line: string): string {
    return line.length > this.maxLineLength ? `${line.slice(0, this.maxLineLength)}...` : line;
  }
}
