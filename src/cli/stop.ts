/**
 * Stopping a batch cleanly on SIGINT or SIGTERM: the files being written are finished (so none
 * is left half-written, and no temporary file stays behind), no further file is started, and
 * what was done is reported. A second signal ends the process at once.
 *
 * The flag lives in shared memory so that helper threads see it between their files too.
 */
export class StopSignal {
  readonly flag = new Int32Array(new SharedArrayBuffer(4));

  get requested(): boolean {
    return Atomics.load(this.flag, 0) !== 0;
  }

  request(): void {
    Atomics.store(this.flag, 0, 1);
  }

  /** Listens for SIGINT and SIGTERM until `release`. */
  listen(): () => void {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (this.requested) process.exit(signal === 'SIGINT' ? 130 : 143);
      this.request();
      process.exitCode = signal === 'SIGINT' ? 130 : 143;
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    return () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    };
  }
}

/** Whether the flag (as a helper thread receives it) asks to stop. */
export function stopRequested(flag: Int32Array): boolean {
  return Atomics.load(flag, 0) !== 0;
}
