/**
 * How a pool worker is started. Where bubblewrap works, each worker runs in its own
 * namespaces: no network, no other processes in sight, a private /tmp, and a read-only view of
 * only the system's programs and libraries (/usr), the font configuration, and the
 * application with its packages. A decoder exploit there finds nothing to read and nowhere to
 * send it. bubblewrap fails inside some unprivileged containers; then workers run without the
 * namespaces, and a warning with a code says so.
 *
 * Every worker also gets a bounded address space (a loose backstop: Node itself reserves
 * about a gigabyte to start; the pool's resident-memory watch is the real limit) and an
 * environment of its own, so that no secret of the parent's reaches it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** `auto`: bubblewrap when a probe run works; `bubblewrap`: required; `none`: never. */
export type SandboxMode = 'auto' | 'bubblewrap' | 'none';

export interface Launch {
  /** The program to run (bubblewrap, prlimit or Node). */
  readonly execPath: string;
  /** Its arguments up to the worker script. */
  readonly execArgv: string[];
  readonly env: NodeJS.ProcessEnv;
  readonly sandboxed: boolean;
}

/** Address space a worker may map: far above what it needs, far below the machine. */
export const WORKER_ADDRESS_SPACE_BYTES = 16 * 1024 ** 3;

const probed = new Map<string, boolean>();

function findProgram(name: string): string | null {
  for (const folder of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    if (folder === '') continue;
    const candidate = path.join(folder, name);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

/** The folder of the package that holds `file` (the nearest one with a package.json). */
function packageRoot(file: string): string {
  let folder = path.dirname(file);
  for (;;) {
    if (existsSync(path.join(folder, 'package.json'))) return folder;
    const parent = path.dirname(folder);
    if (parent === folder) return path.dirname(file);
    folder = parent;
  }
}

/** sharp's entry file, or null when it is not installed. */
function sharpEntry(): string | null {
  try {
    return createRequire(import.meta.url).resolve('sharp');
  } catch {
    return null;
  }
}

/** The node_modules folder sharp is installed in (it may sit above the application's). */
function sharpModules(): string | null {
  const entry = sharpEntry();
  if (entry === null) return null;
  const at = entry.lastIndexOf(`${path.sep}node_modules${path.sep}`);
  return at === -1 ? null : entry.slice(0, at + '/node_modules'.length);
}

function within(folder: string, parent: string): boolean {
  const relative = path.relative(parent, folder);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/**
 * The bubblewrap arguments that show a worker only what it needs, read-only: the system, the
 * application and, when given, the folder its inputs are handed over in.
 */
function bubblewrapArgs(script: string, exchange: string | null = null): string[] {
  const node = realpathSync(process.execPath);
  // Of the application, only what a worker runs: its built code, its packages, its manifest
  // (Node reads the package type from it), and the worker program's own folder. Not its
  // sources, tests or history.
  const candidates: (string | null)[] = [path.dirname(realpathSync(script)), sharpModules()];
  for (const root of new Set([
    packageRoot(realpathSync(script)),
    packageRoot(realpathSync(fileURLToPath(import.meta.url))),
  ])) {
    for (const part of ['dist', 'node_modules', 'package.json'])
      candidates.push(existsSync(path.join(root, part)) ? path.join(root, part) : null);
  }
  candidates.push(path.dirname(node));
  const views = new Set<string>();
  for (const folder of candidates) {
    if (folder === null || within(folder, '/usr')) continue;
    if ([...views].some((view) => within(folder, view))) continue;
    for (const view of views) if (within(view, folder)) views.delete(view);
    views.add(folder);
  }
  const args = [
    '--unshare-all',
    // Run as root, bubblewrap would leave the worker every capability inside its namespaces,
    // enough to remount a read-only view writable.
    '--cap-drop',
    'ALL',
    // Node itself is the namespace's first process: bubblewrap's own reaper there would, on
    // its way out, be left to the machine's init, which in some containers never reaps it.
    '--as-pid-1',
    '--die-with-parent',
    '--new-session',
    // The fresh /proc, /dev and /tmp first: a view bound later may lie beneath one of them
    // (an application installed under /tmp, the exchange folder in /dev/shm).
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/tmp',
    '--ro-bind',
    '/usr',
    '/usr',
  ];
  // On a merged-/usr system these are links into /usr; elsewhere, folders of their own.
  for (const folder of ['/bin', '/lib', '/lib64', '/lib32', '/sbin']) {
    if (!existsSync(folder)) continue;
    const real = realpathSync(folder);
    if (real === folder) args.push('--ro-bind', folder, folder);
    else args.push('--symlink', path.relative('/', real), folder);
  }
  for (const view of [...views].sort()) args.push('--ro-bind', view, view);
  if (exchange !== null) args.push('--ro-bind', exchange, exchange);
  args.push('--ro-bind-try', '/etc/fonts', '/etc/fonts', '--chdir', '/tmp', node);
  return args;
}

/** What a worker's environment holds: nothing of the parent's but the search path. */
function workerEnv(sandboxed: boolean): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    // Font lookups (text watermarks) want a writable cache; in the sandbox only /tmp is.
    HOME: sandboxed ? '/tmp' : (process.env.HOME ?? '/tmp'),
    XDG_CACHE_HOME: sandboxed ? '/tmp' : (process.env.XDG_CACHE_HOME ?? ''),
    LANG: 'C.UTF-8',
  };
}

/**
 * Whether a worker under bubblewrap starts here: one real run of Node inside it, loading the
 * worker program and sharp as a worker would (so that a view missing from the sandbox shows
 * now, not as crashed jobs), cached.
 */
export function bubblewrapWorks(script: string): boolean {
  const bwrap = findProgram('bwrap');
  if (bwrap === null) return false;
  const known = probed.get(script);
  if (known !== undefined) return known;
  const imports = [pathToFileURL(realpathSync(script)).href];
  const sharp = sharpEntry();
  if (sharp !== null) imports.push(pathToFileURL(sharp).href);
  const load = imports.map((url) => `await import(${JSON.stringify(url)});`).join(' ');
  const probe = ['--input-type=module', '-e', `${load} process.exit(0);`];
  const run = spawnSync(bwrap, [...bubblewrapArgs(script), ...probe], {
    stdio: 'ignore',
    timeout: 10_000,
    env: workerEnv(true),
  });
  const works = run.status === 0;
  probed.set(script, works);
  return works;
}

/**
 * How to start a worker for `script` in `mode`, with the `exchange` folder visible to it, or
 * null when `bubblewrap` was required and does not work here.
 */
export function launchFor(
  script: string,
  mode: SandboxMode,
  exchange: string | null = null,
): Launch | null {
  const sandboxed = mode !== 'none' && bubblewrapWorks(script);
  if (mode === 'bubblewrap' && !sandboxed) return null;
  const program = sandboxed
    ? [findProgram('bwrap') ?? 'bwrap', ...bubblewrapArgs(script, exchange)]
    : [process.execPath];
  const prlimit = findProgram('prlimit');
  const [execPath = process.execPath, ...execArgv] =
    prlimit === null ? program : [prlimit, `--as=${WORKER_ADDRESS_SPACE_BYTES}`, '--', ...program];
  return { execPath, execArgv, env: workerEnv(sandboxed), sandboxed };
}
