/** The command-line contract: forms, JSON shapes, exit codes and the rules about outputs. */
import {
  chmodSync,
  lstatSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { strip } from '../src/index.js';
import { CASES, CLI, jpegWith, pngWith, runCli, seg, tiff } from './helpers.js';

const GPS_JPEG = path.join(CASES, 'inputs', '01-exif-thumb-uncropped.jpg');
const temp = (): string => mkdtempSync(path.join(tmpdir(), 'pixwarden-cli-'));
const dirty = (): Buffer =>
  jpegWith([
    seg(
      0xe1,
      Buffer.concat([Buffer.from('Exif\0\0'), tiff([{ tag: 0x013b, value: 'Jane Example' }])]),
    ),
  ]);

function tree(root: string, files: Record<string, Buffer | string>): void {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), content);
  }
}

describe('pixwarden inspect', () => {
  it('prints one JSON object per file with decoded GPS in decimal degrees', () => {
    const run = runCli(['inspect', GPS_JPEG, '--json']);
    expect(run.status).toBe(0);
    const [report] = JSON.parse(run.stdout) as Record<string, unknown>[];
    expect(report).toMatchObject({
      file: GPS_JPEG,
      format: 'jpeg',
      width: 320,
      height: 480,
      frames: 1,
      risk: 'high',
    });
    const findings = report?.findings as Record<string, unknown>[];
    expect(findings).toContainEqual({
      code: 'GPS_POSITION',
      category: 'location',
      source: 'exif',
      name: 'GPS position',
      value: { latitude: 11.1111, longitude: 22.2222 },
      risk: 'high',
    });
    for (const finding of findings)
      expect(Object.keys(finding).sort()).toEqual([
        'category',
        'code',
        'name',
        'risk',
        'source',
        'value',
      ]);
  });

  it('says in plain words what a photo reveals', () => {
    const run = runCli(['inspect', GPS_JPEG]);
    expect(run.stdout).toContain('reveals where it was taken: 11.1111 N, 22.2222 E');
    expect(run.stderr).toMatch(/1 read, 0 refused; findings: .*location 1/);
  });

  it('reads standard input', () => {
    const run = runCli(['inspect', '-', '--json'], { input: readFileSync(GPS_JPEG) });
    expect(run.status).toBe(0);
    expect((JSON.parse(run.stdout) as { file: string }[])[0]?.file).toBe('-');
  });

  it('reports a missing path and a refused file per file, and exits 1', () => {
    const dir = temp();
    tree(dir, { 'notes.pdf': '%PDF-1.4\n' });
    const run = runCli([
      'inspect',
      path.join(dir, 'nope.jpg'),
      path.join(dir, 'notes.pdf'),
      GPS_JPEG,
      '--json',
    ]);
    expect(run.status).toBe(1);
    const results = JSON.parse(run.stdout) as {
      file: string;
      error?: { code: string; message: string };
    }[];
    expect(results.map((r) => r.error?.code)).toEqual([
      'ERR_INPUT_NOT_FOUND',
      'ERR_FORMAT_NOT_ALLOWED',
      undefined,
    ]);
    expect(results[1]?.error?.message).toMatch(/PDF/);
  });

  it('walks folders recursively, skipping hidden files and symbolic links', () => {
    const dir = temp();
    tree(dir, {
      'a.png': pngWith(),
      'sub/b.jpg': jpegWith(),
      '.hidden.jpg': jpegWith(),
      '.git/c.jpg': jpegWith(),
    });
    symlinkSync(path.join(dir, 'a.png'), path.join(dir, 'link.png'));
    const run = runCli(['inspect', dir, '--json']);
    expect(run.status).toBe(0);
    const files = (JSON.parse(run.stdout) as { file: string }[]).map((r) =>
      path.relative(dir, r.file),
    );
    expect(files).toEqual(['a.png', 'sub/b.jpg']);
  });

  it('exits 2 on a usage error', () => {
    expect(runCli(['inspect']).status).toBe(2);
    expect(runCli(['frobnicate']).status).toBe(2);
  });
});

describe('pixwarden strip', () => {
  it('writes clean copies under DIR at their relative paths and prints the JSON contract', () => {
    const src = temp();
    const out = path.join(temp(), 'clean');
    tree(src, { 'trip/day1.jpg': dirty(), 'b.png': pngWith() });
    const run = runCli(['strip', src, '-o', out, '--json']);
    expect(run.status).toBe(0);
    const records = JSON.parse(run.stdout) as Record<string, unknown>[];
    expect(records).toHaveLength(2);
    const day1 = records.find((r) => String(r.input).endsWith('day1.jpg'));
    expect(day1).toMatchObject({ status: 'clean', verified: true, kept: [] });
    expect(day1?.removed).toEqual([
      { category: 'metadata', name: 'APP1 Exif', bytes: expect.any(Number) as number },
    ]);
    expect(readFileSync(path.join(out, 'trip', 'day1.jpg')).includes(Buffer.from('Jane'))).toBe(
      false,
    );
    expect(existsSync(path.join(out, 'b.png'))).toBe(true);
    expect(run.stderr).toMatch(/2 cleaned, 0 refused/);
  });

  it('puts a single file argument directly into DIR', () => {
    const out = temp();
    expect(runCli(['strip', GPS_JPEG, '-o', out]).status).toBe(0);
    expect(readdirSync(out)).toEqual(['01-exif-thumb-uncropped.jpg']);
  });

  it('refuses to replace an existing output unless --overwrite', () => {
    const out = temp();
    writeFileSync(path.join(out, '01-exif-thumb-uncropped.jpg'), 'keep me');
    const run = runCli(['strip', GPS_JPEG, '-o', out, '--json']);
    expect(run.status).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject([
      { status: 'refused', output: null, verified: false, error: { code: 'ERR_OUTPUT_EXISTS' } },
    ]);
    expect(readFileSync(path.join(out, '01-exif-thumb-uncropped.jpg'), 'utf8')).toBe('keep me');
    expect(runCli(['strip', GPS_JPEG, '-o', out, '--overwrite']).status).toBe(0);
    expect(readFileSync(path.join(out, '01-exif-thumb-uncropped.jpg')).subarray(0, 2)).toEqual(
      Buffer.of(0xff, 0xd8),
    );
    expect(readdirSync(out)).toEqual(['01-exif-thumb-uncropped.jpg']);
  });

  it('refuses two inputs that map to one output, and an output that is the input', () => {
    const a = temp();
    const b = temp();
    tree(a, { 'x.jpg': dirty() });
    tree(b, { 'x.jpg': dirty() });
    const out = temp();
    const run = runCli([
      'strip',
      path.join(a, 'x.jpg'),
      path.join(b, 'x.jpg'),
      '-o',
      out,
      '--json',
    ]);
    expect(run.status).toBe(1);
    expect(
      (JSON.parse(run.stdout) as { error?: { code: string } }[]).map((r) => r.error?.code),
    ).toEqual(['ERR_OUTPUT_CONFLICT', 'ERR_OUTPUT_CONFLICT']);
    expect(readdirSync(out)).toEqual([]);
    const self = runCli(['strip', path.join(a, 'x.jpg'), '-o', a, '--json']);
    expect((JSON.parse(self.stdout) as { error?: { code: string } }[])[0]?.error?.code).toBe(
      'ERR_OUTPUT_CONFLICT',
    );
    expect(readFileSync(path.join(a, 'x.jpg')).includes(Buffer.from('Jane'))).toBe(true);
  });

  it('does not walk DIR when it lies inside a PATH', () => {
    const src = temp();
    tree(src, { 'a.jpg': dirty() });
    const out = path.join(src, 'clean');
    expect(runCli(['strip', src, '-o', out]).status).toBe(0);
    expect(runCli(['strip', src, '-o', out, '--overwrite', '--json']).status).toBe(0);
    expect(readdirSync(out)).toEqual(['a.jpg']);
  });

  it('cleans in place through a temporary file, keeping the file mode', () => {
    const dir = temp();
    tree(dir, { 'a.jpg': dirty() });
    const file = path.join(dir, 'a.jpg');
    chmodSync(file, 0o666);
    // The umask narrows new files' modes; the mode kept is the original's all the same.
    const run = runCli(['strip', file, '--in-place'], { umask: 0o077 });
    expect(run.status).toBe(0);
    expect(readFileSync(file).includes(Buffer.from('Jane'))).toBe(false);
    expect(statSync(file).mode & 0o777).toBe(0o666);
    expect(readdirSync(dir)).toEqual(['a.jpg']);
  });

  it('refuses outputs that would replace other inputs, and loses no original', () => {
    const dir = temp();
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 6; i++)
      files[`${String(i).padStart(4, '0')}.jpg`] = jpegWith([seg(0xfe, `n${i}`)]);
    tree(dir, files);
    const run = runCli(['strip', dir, '-o', dir, '--rename', 'seq', '--overwrite', '--json']);
    const records = JSON.parse(run.stdout) as { status: string; error?: { code: string } }[];
    expect(run.status).toBe(1);
    // 0000.jpg would become 0001.jpg (another input), and so on; the last one lands on a new name.
    expect(records.filter((r) => r.error?.code === 'ERR_OUTPUT_CONFLICT')).toHaveLength(5);
    for (let i = 0; i < 6; i++)
      expect(readFileSync(path.join(dir, `${String(i).padStart(4, '0')}.jpg`))).toEqual(
        files[`${String(i).padStart(4, '0')}.jpg`],
      );
  });

  it('refuses a FIFO where a file was expected instead of waiting on it', () => {
    const dir = temp();
    const fifo = path.join(dir, 'a.jpg');
    spawnSync('mkfifo', [fifo]);
    const started = Date.now();
    const run = runCli(['strip', fifo, '-o', temp(), '--json']);
    expect(run.status).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject([
      { status: 'refused', error: { code: 'ERR_INPUT_NOT_FOUND' } },
    ]);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('keeps cleaning when the reader of its output goes away', () => {
    const dir = temp();
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 300; i++) files[`f${i}.jpg`] = dirty();
    tree(dir, files);
    const out = path.join(temp(), 'out');
    const run = spawnSync('sh', [
      '-c',
      `"${process.execPath}" "${CLI}" strip "${dir}" -o "${out}" | head -c 1`,
    ]);
    expect(run.stderr.toString()).not.toMatch(/EPIPE|Error|at /);
    expect(run.stderr.toString()).toMatch(/300 cleaned, 0 refused/);
    expect(readdirSync(out)).toHaveLength(300);
  });

  it('stops between files on SIGTERM: what was written is whole, nothing else is left', async () => {
    const dir = temp();
    // Enough work to be interrupted: files with a large scan.
    const big = jpegWith([seg(0xfe, 'note')]);
    const scan = Buffer.alloc(400_000, 0x11);
    const sos = big.lastIndexOf(Buffer.of(0xff, 0xd9));
    const file = Buffer.concat([big.subarray(0, sos), scan, big.subarray(sos)]);
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 600; i++) files[`f${String(i).padStart(3, '0')}.jpg`] = file;
    tree(dir, files);
    const out = path.join(temp(), 'out');
    const child = spawn(process.execPath, [CLI, 'strip', dir, '-o', out, '--json', '--jobs', '2']);
    let stdout = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    // Stop as soon as the first outputs exist.
    for (let waited = 0; !existsSync(out) && waited < 20_000; waited += 5)
      await new Promise((resolve) => setTimeout(resolve, 5));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(143);
    const records = JSON.parse(stdout) as { output: string | null }[];
    const written = readdirSync(out);
    expect(written.length).toBeLessThan(600);
    expect(written.filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect(written).toHaveLength(records.length);
    const expected = Buffer.from((await strip(file)).bytes);
    for (const name of written)
      expect(readFileSync(path.join(out, name)).equals(expected)).toBe(true);
  });

  it('renames by content hash or by sequence', () => {
    const src = temp();
    tree(src, { 'IMG_20250601_Jane.jpg': dirty(), 'IMG_20250602_Jane.png': pngWith() });
    const byHash = temp();
    expect(runCli(['strip', src, '-o', byHash, '--rename', 'hash']).status).toBe(0);
    expect(readdirSync(byHash).every((name) => /^[0-9a-f]{32}\.(jpg|png)$/.test(name))).toBe(true);
    const bySeq = temp();
    expect(runCli(['strip', src, '-o', bySeq, '--rename', 'seq']).status).toBe(0);
    expect(readdirSync(bySeq)).toEqual(['0001.jpg', '0002.png']);
  });

  it('reads standard input and writes standard output with -o -', () => {
    const run = runCli(['strip', '-', '-o', '-'], { input: dirty() });
    expect(run.status).toBe(0);
    expect(run.stdoutBytes.subarray(0, 2)).toEqual(Buffer.of(0xff, 0xd8));
    expect(run.stdoutBytes.includes(Buffer.from('Jane'))).toBe(false);
    expect(run.stderr).toMatch(/1 cleaned/);
  });

  it('keeps what --keep lists', () => {
    const input = jpegWith([
      seg(
        0xe1,
        Buffer.concat([
          Buffer.from('Exif\0\0'),
          tiff([
            { tag: 0x0112, value: 6 },
            { tag: 0x8298, value: '(c) Jane Example' },
          ]),
        ]),
      ),
    ]);
    const keepAll = runCli(['strip', '-', '-o', '-', '--keep', 'orientation,copyright'], { input });
    expect(keepAll.stdoutBytes.includes(Buffer.from('(c) Jane Example'))).toBe(true);
    const none = runCli(['strip', '-', '-o', '-', '--keep', 'none'], { input });
    expect(none.stdoutBytes.includes(Buffer.from('Exif'))).toBe(false);
  });

  it.each([
    [['strip', 'x.jpg']],
    [['strip', 'x.jpg', '-o', 'd', '--in-place']],
    [['strip', 'x.jpg', '-o', 'd', '--keep', 'gps']],
    [['strip', 'x.jpg', '-o', 'd', '--rename', 'random']],
    [['strip', GPS_JPEG, GPS_JPEG, '-o', '-']],
    [['strip', GPS_JPEG, '-o', '-', '--json']],
  ])('exits 2 for the usage error %j', (args) => {
    const run = runCli(args);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
  });

  it('refuses a broken file with its code and writes nothing', () => {
    const out = temp();
    const src = temp();
    tree(src, { 'cut.png': pngWith().subarray(0, 30) });
    const run = runCli(['strip', path.join(src, 'cut.png'), '-o', out, '--json']);
    expect(run.status).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject([
      { status: 'refused', error: { code: 'ERR_TRUNCATED' } },
    ]);
    expect(readdirSync(out)).toEqual([]);
  });

  it('follows a symbolic link in place: the file it names is cleaned, the link stays', () => {
    const dir = temp();
    tree(dir, { 'photo.jpg': dirty() });
    symlinkSync(path.join(dir, 'photo.jpg'), path.join(dir, 'link.jpg'));
    expect(runCli(['strip', path.join(dir, 'link.jpg'), '--in-place']).status).toBe(0);
    expect(lstatSync(path.join(dir, 'link.jpg')).isSymbolicLink()).toBe(true);
    expect(readFileSync(path.join(dir, 'photo.jpg')).includes(Buffer.from('Jane'))).toBe(false);
  });

  it('refuses quickly, with a code, to write where no folder can be made', () => {
    const started = Date.now();
    const run = runCli(['strip', GPS_JPEG, '-o', '/proc/pixwarden-no-such/dir', '--json']);
    expect(run.status).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject([
      { status: 'refused', error: { code: 'ERR_IO' } },
    ]);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('warns when a rotated photo loses its orientation by request', () => {
    const input = jpegWith([
      seg(0xe1, Buffer.concat([Buffer.from('Exif\0\0'), tiff([{ tag: 0x0112, value: 6 }])])),
    ]);
    const run = runCli(['strip', '-', '-o', '-', '--keep', 'icc'], { input });
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/orientation tag \(6\) was removed/);
  });

  it.each([
    [['strip', GPS_JPEG, '-o', GPS_JPEG]],
    [['strip', '-', '-', '-o', 'd']],
    [['strip', GPS_JPEG, '-o', 'd', '--keep', '']],
    [['strip', GPS_JPEG, '-o', 'd', '--keep', 'none,icc']],
    [['strip', GPS_JPEG, '-o', 'd', '--bogus']],
    [['strip', GPS_JPEG, '-o', 'd', '--jobs', '0']],
    [['strip', GPS_JPEG, '-o', 'd', '--jobs', '2.5']],
  ])('exits 2 with a usage hint for %j', (args) => {
    const run = runCli(args);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('pixwarden --help');
  });
});

describe('pixwarden strip on several threads', () => {
  /** A batch big enough to be shared: dirty JPEGs and PNGs in folders, and some broken files. */
  function batch(): string {
    const src = temp();
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 60; i++) {
      const folder = `f${i % 4}`;
      if (i % 10 === 7) files[`${folder}/broken-${i}.jpg`] = dirty().subarray(0, 30);
      else if (i % 3 === 0) files[`${folder}/p${i}.png`] = pngWith();
      else
        files[`${folder}/j${i}.jpg`] = jpegWith([
          seg(0xfe, Buffer.from(`comment ${i}`)),
          seg(0xe1, Buffer.concat([Buffer.from('Exif\0\0'), tiff([{ tag: 0x0112, value: 6 }])])),
        ]);
    }
    tree(src, files);
    return src;
  }

  function outputs(dir: string): Map<string, Buffer> {
    const found = new Map<string, Buffer>();
    for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true }))
      if (entry.isFile()) {
        const file = path.join(entry.parentPath, entry.name);
        found.set(path.relative(dir, file), readFileSync(file));
      }
    return found;
  }

  it.each([[[]], [['--rename', 'seq']]])(
    'writes the same files and report, in input order, whatever the number of threads (%j)',
    (extra: string[]) => {
      const src = batch();
      const one = path.join(temp(), 'one');
      const three = path.join(temp(), 'three');
      const single = runCli(['strip', src, '-o', one, '--json', '--jobs', '1', ...extra]);
      const shared = runCli(['strip', src, '-o', three, '--json', '--jobs', '3', ...extra]);
      expect(single.status).toBe(1);
      expect(shared.status).toBe(1);
      const normalise = (text: string, out: string): unknown =>
        JSON.parse(text.replaceAll(out, 'OUT'));
      const records = normalise(shared.stdout, three) as { input: string; status: string }[];
      expect(records).toEqual(normalise(single.stdout, one));
      expect(records.map((r) => r.input)).toEqual([...records.map((r) => r.input)].sort());
      expect(records.filter((r) => r.status === 'refused')).toHaveLength(6);
      const written = outputs(three);
      expect(written.size).toBe(54);
      expect(written).toEqual(outputs(one));
      // Human output: one block per input, in the same order.
      const lines = (args: string[], out: string): string =>
        runCli(['strip', src, '-o', out, ...args, ...extra]).stdout.replaceAll(out, 'OUT');
      expect(lines(['--jobs', '3'], path.join(temp(), 'a'))).toBe(
        lines(['--jobs', '1'], path.join(temp(), 'b')),
      );
    },
  );
});

describe('reports that files cannot forge', () => {
  it('shows a value with line breaks and escape codes on one printable line', () => {
    const input = jpegWith([seg(0xfe, 'hello\nfake.jpg: PNG 1x1, risk none\u001b[31m')]);
    const run = runCli(['inspect', '-'], { input });
    const lines = run.stdout.split('\n');
    expect(lines.filter((line) => line.includes('fake.jpg'))).toHaveLength(1);
    expect(lines.find((line) => line.includes('fake.jpg'))?.startsWith('    COM')).toBe(true);
    expect(run.stdout.includes('\u001b')).toBe(false);
  });
});
