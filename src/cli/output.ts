/**
 * Per-file lines on standard output. On a terminal each line appears at once; into a file or a
 * pipe they are gathered and written in blocks, one system call per block instead of per file.
 */
const blockBytes = 64 * 1024;

export class LineOutput {
  private readonly stream: NodeJS.WriteStream;
  private readonly immediate: boolean;
  private pending: string[] = [];
  private size = 0;

  constructor(stream: NodeJS.WriteStream) {
    this.stream = stream;
    this.immediate = stream.isTTY;
  }

  write(text: string): void {
    if (this.immediate) {
      this.stream.write(text);
      return;
    }
    this.pending.push(text);
    this.size += text.length;
    if (this.size >= blockBytes) this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    this.stream.write(this.pending.join(''));
    this.pending = [];
    this.size = 0;
  }
}
