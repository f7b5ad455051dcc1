/** Human-readable output: per-file lines, plain-words summaries, the closing summary line. */
import type { Category, Finding, GpsValue, Report } from '../types.js';

const GROUP_ORDER: readonly Category[] = [
  'location',
  'identity',
  'thumbnail',
  'hidden-data',
  'device',
  'time',
  'text',
  'generation',
  'provenance',
  'software',
  'colour',
  'threat',
  'structure',
];

/**
 * Text fit for a terminal: control characters (line breaks, escape codes) in file names or
 * values become "?", so that nothing in a file can fake a line of the report or drive the
 * terminal.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function formatGps(gps: GpsValue): string {
  const lat = `${Math.abs(gps.latitude).toFixed(4)} ${gps.latitude < 0 ? 'S' : 'N'}`;
  const lon = `${Math.abs(gps.longitude).toFixed(4)} ${gps.longitude < 0 ? 'W' : 'E'}`;
  const alt = gps.altitude === undefined ? '' : `, ${gps.altitude} m`;
  const time = gps.time === undefined ? '' : `, at ${gps.time}`;
  return `${lat}, ${lon}${alt}${time}`;
}

function valueText(finding: Finding): string {
  const { value } = finding;
  if (value !== null && typeof value === 'object') return formatGps(value);
  if (
    typeof value === 'number' &&
    (finding.source === 'trailer' || finding.code === 'EMBEDDED_THUMBNAIL')
  ) {
    return formatBytes(value);
  }
  return printable(String(value));
}

/** One sentence per group that matters most, in plain words. */
function sentences(findings: readonly Finding[]): string[] {
  const out: string[] = [];
  const first = (category: Category): Finding | undefined =>
    findings.find((f) => f.category === category);
  const gps = findings.find((f) => f.code === 'GPS_POSITION');
  if (gps !== undefined) out.push(`reveals where it was taken: ${valueText(gps)}`);
  else if (first('location') !== undefined)
    out.push(`reveals a place: ${valueText(first('location') as Finding)}`);
  const serial = findings.find((f) => f.code === 'SERIAL_NUMBER');
  const model = findings.find((f) => f.name === 'Model' || f.name === 'tiff:Model');
  if (serial !== undefined || model !== undefined) {
    const parts = [
      model === undefined ? null : valueText(model),
      serial === undefined ? null : `serial number ${valueText(serial)}`,
    ];
    out.push(`reveals the camera: ${parts.filter((p) => p !== null).join(', ')}`);
  }
  const identity = first('identity');
  if (identity !== undefined) out.push(`names a person or owner: ${valueText(identity)}`);
  const time =
    findings.find((f) => f.name === 'DateTimeOriginal' || f.name === 'exif:DateTimeOriginal') ??
    findings.find((f) => f.name === 'CreateDate' || f.name === 'xmp:CreateDate') ??
    first('time');
  if (time !== undefined) out.push(`reveals when it was taken or made: ${valueText(time)}`);
  if (first('thumbnail') !== undefined)
    out.push('holds an embedded thumbnail (it may show what was cropped away)');
  const hidden = first('hidden-data');
  if (hidden !== undefined)
    out.push(
      `hides data after the end of the image: ${hidden.name}, ${formatBytes(Number(hidden.value))}`,
    );
  if (first('generation') !== undefined) out.push('holds image-generation parameters (a prompt)');
  return out;
}

export function describeReport(file: string, report: Report): string {
  const frames = report.frames === 1 ? '' : `, ${report.frames} frames`;
  const lines = [
    `${printable(file)}: ${report.format.toUpperCase()} ${report.width}×${report.height}${frames}, ${formatBytes(report.bytes)}, risk ${report.risk}`,
  ];
  if (report.findings.length === 0) {
    lines.push('  reveals nothing beyond the picture');
    return lines.join('\n');
  }
  for (const sentence of sentences(report.findings)) lines.push(`  ${sentence}`);
  for (const group of GROUP_ORDER) {
    const inGroup = report.findings.filter((f) => f.category === group);
    if (inGroup.length === 0) continue;
    lines.push(`  ${group}:`);
    for (const f of inGroup) {
      lines.push(`    ${printable(f.name)} (${f.source}, ${f.risk}): ${valueText(f)}`);
    }
  }
  return lines.join('\n');
}

/** "findings: location 2, device 5" — or an empty string. */
export function countsByGroup(categories: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const category of categories) counts.set(category, (counts.get(category) ?? 0) + 1);
  return [...counts.entries()].map(([name, n]) => `${name} ${n}`).join(', ');
}
