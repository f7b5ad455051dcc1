/** A progress bar on standard error, shown only on a terminal and for more than a handful of files. */
import type { SingleBar } from 'cli-progress';

const minFilesForBar = 6;

export interface Progress {
  tick(): void;
  stop(): void;
}

export async function startProgress(total: number, json: boolean): Promise<Progress> {
  if (!process.stderr.isTTY || total < minFilesForBar)
    return { tick: () => undefined, stop: () => undefined };
  const { default: progress } = await import('cli-progress');
  const bar: SingleBar = new progress.SingleBar(
    {
      stream: process.stderr,
      format: '{bar} {value}/{total} files',
      clearOnComplete: true,
      hideCursor: !json,
    },
    progress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    tick: () => {
      bar.increment();
    },
    stop: () => {
      bar.stop();
    },
  };
}
