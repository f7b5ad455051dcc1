/**
 * Helper threads of `pixwarden strip`, driven directly: the CLI's main thread usually cleans
 * small batches before a helper has even started, so here the helpers do all the work. Runs the
 * built code, since a thread loads compiled JavaScript.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../dist/cli/clean-file.js';
import { HelperThreads } from '../dist/cli/threads.js';
import type { WorkItem } from '../dist/cli/threads.js';
import { DEFAULT_LIMITS, strip } from '../src/index.js';
import { jpegWith, pngWith, seg } from './helpers.js';

const temp = (): string => mkdtempSync(path.join(tmpdir(), 'pixwarden-threads-'));

function batch(count: number): { dir: string; items: WorkItem[] } {
  const dir = temp();
  const items: WorkItem[] = [];
  for (let i = 0; i < count; i++) {
    const name = i % 5 === 4 ? `broken-${i}.jpg` : i % 2 === 0 ? `p${i}.png` : `j${i}.jpg`;
    const bytes =
      i % 5 === 4
        ? Buffer.of(0xff, 0xd8, 0xff, 0xe1, 0x40)
        : i % 2 === 0
          ? pngWith()
          : jpegWith([seg(0xfe, Buffer.from(`comment ${i}`))]);
    writeFileSync(path.join(dir, name), bytes);
    // Positions among all inputs are not positions in the work list: keep them apart.
    items.push({
      index: 100 + i,
      entry: { display: name, absolute: path.join(dir, name), relative: name },
    });
  }
  return { dir, items };
}

const plan = (outDir: string): Plan => ({
  policy: { keep: ['orientation', 'icc'] },
  limits: DEFAULT_LIMITS,
  outDir,
  toStdout: false,
  inPlace: false,
  overwrite: false,
  rename: 'seq',
  seqWidth: 4,
  inputs: new Set<string>(),
  rewrite: null,
});

describe('helper threads', () => {
  it('clean every input they are given, once, and report each by its position', async () => {
    const { dir, items } = batch(40);
    const out = temp();
    const helpers = new HelperThreads(items, plan(out), 0, 2);
    const reports = await helpers.finish(0);
    expect(reports.map(([position]) => position).sort((a, b) => a - b)).toEqual(
      items.map((_, i) => i),
    );
    for (const [position, record] of reports) {
      const item = items[position] as WorkItem;
      const input = readFileSync(path.join(dir, item.entry.relative));
      if (item.entry.relative.startsWith('broken')) {
        expect(record).toMatchObject({ status: 'refused', output: null, verified: false });
        expect(record.error?.code).toMatch(/^ERR_/);
        continue;
      }
      const expected = await strip(input);
      const name = `${String(item.index + 1).padStart(4, '0')}${item.entry.relative.endsWith('.png') ? '.png' : '.jpg'}`;
      expect(record).toMatchObject({ status: 'clean', verified: true, input: item.entry.display });
      expect(record.output).toBe(path.join(out, name));
      expect(readFileSync(path.join(out, name))).toEqual(Buffer.from(expected.bytes));
    }
  });

  it('share a batch with the calling thread without cleaning any input twice', async () => {
    const { items } = batch(30);
    const helpers = new HelperThreads(items, plan(temp()), 0, 1);
    const own = [helpers.claim()];
    // Wait for the helper to start and report, then take what is left.
    const theirs: number[] = [];
    for (const deadline = Date.now() + 20_000; theirs.length === 0 && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      theirs.push(...helpers.poll().map(([position]) => position));
    }
    for (let position = helpers.claim(); position >= 0; position = helpers.claim())
      own.push(position);
    theirs.push(...(await helpers.finish(own.length)).map(([position]) => position));
    expect(theirs.length).toBeGreaterThan(0);
    expect([...own, ...theirs].sort((a, b) => a - b)).toEqual(items.map((_, i) => i));
  });

  it('create the same new folders side by side without refusing an input', async () => {
    // Every output goes into one deep folder that does not exist yet, so the helpers' first
    // writes race to create it: one finding a folder made by the other must carry on.
    for (let round = 0; round < 5; round++) {
      const { items } = batch(16);
      const nested = items.map((item) => ({
        ...item,
        entry: { ...item.entry, relative: path.join('a', 'b', 'c', 'd', item.entry.relative) },
      }));
      const helpers = new HelperThreads(nested, { ...plan(temp()), rename: undefined }, 0, 3);
      const reports = await helpers.finish(0);
      const refusals = reports.filter(([, record]) => record.status === 'refused');
      expect(refusals.map(([, record]) => record.error?.code)).toEqual(
        items.filter((item) => item.entry.relative.startsWith('broken')).map(() => 'ERR_TRUNCATED'),
      );
    }
  });

  it('start from the position the caller has reached', async () => {
    const { items } = batch(20);
    const helpers = new HelperThreads(items, plan(temp()), 15, 1);
    // The caller counts the 15 inputs it took before the helper started as its own.
    const reports = await helpers.finish(15);
    expect(reports.map(([position]) => position).sort((a, b) => a - b)).toEqual([
      15, 16, 17, 18, 19,
    ]);
  });

  it('stop at once when every input is already taken', async () => {
    const { items } = batch(5);
    const helpers = new HelperThreads(items, plan(temp()), 5, 2);
    expect(helpers.claim()).toBe(-1);
    expect(await helpers.finish(5)).toEqual([]);
  });
});
