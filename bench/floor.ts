/**
 * The floor for any cleaner written in Node: read every file under IN and write it unchanged
 * under OUT, nothing else. `node floor.js IN OUT`
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

function copyTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) copyTree(source, target);
    else if (entry.isFile()) writeFileSync(target, readFileSync(source));
  }
}

const [input, output] = process.argv.slice(2);
if (input === undefined || output === undefined) {
  process.stderr.write('usage: floor.js IN OUT\n');
  process.exit(2);
}
copyTree(input, output);
