import path from 'node:path';
import { PixwardenError } from '../errors.js';
import type { Limits } from '../limits.js';
import type { Finding } from '../types.js';
import { readInput } from './files.js';
import { LineOutput } from './output.js';
import { startProgress } from './progress.js';
import { countsByGroup, describeReport, printable } from './summary.js';
import { walk } from './walk.js';

/** Error as the JSON contract spells it: code, message, and value/limit when known. */
export function errorJson(error: unknown): ReturnType<PixwardenError['toJSON']> {
  if (error instanceof PixwardenError) return error.toJSON();
  return { code: 'ERR_IO', message: error instanceof Error ? error.message : String(error) };
}

export async function runInspect(
  paths: readonly string[],
  options: { json: boolean; limits: Limits },
): Promise<number> {
  const { inspect } = await import('../inspect.js');
  const entries = walk(paths, null);
  const progress = await startProgress(entries.length, options.json);
  const results: unknown[] = [];
  const findings: Finding[] = [];
  let failed = 0;
  const lines = new LineOutput(process.stdout);
  const errors = new LineOutput(process.stderr);
  for (const entry of entries) {
    let line: string;
    let refused = true;
    if ('error' in entry) {
      failed++;
      results.push({ file: entry.display, error: errorJson(entry.error) });
      line = `${printable(entry.display)}: ${entry.error.code}: ${printable(entry.error.message)}`;
    } else {
      try {
        const bytes = await readInput(entry, options.limits.maxFileBytes);
        const report = await inspect(bytes, {
          limits: options.limits,
          ...(entry.absolute === null ? {} : { fileName: path.basename(entry.relative) }),
        });
        findings.push(...report.findings);
        results.push({ file: entry.display, ...report });
        line = describeReport(entry.display, report);
        refused = false;
      } catch (error: unknown) {
        failed++;
        const json = errorJson(error);
        results.push({ file: entry.display, error: json });
        line = `${printable(entry.display)}: ${json.code}: ${printable(json.message)}`;
      }
    }
    progress.tick();
    // Reports go to standard output, refusals to standard error.
    if (!options.json && !refused) lines.write(`${line}\n`);
    else if (!options.json) errors.write(`${line}\n`);
  }
  lines.flush();
  errors.flush();
  progress.stop();
  if (options.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  const groups = countsByGroup(findings.map((f) => f.category));
  process.stderr.write(
    `${entries.length - failed} read, ${failed} refused${groups === '' ? '' : `; findings: ${groups}`}\n`,
  );
  return failed > 0 ? 1 : 0;
}
