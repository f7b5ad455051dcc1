import { isStandardProfileName } from '../src/metadata/icc.js';
import type { ExifToolRecord } from './helpers.js';

/** What ExifTool shows of a clean file's structure: tags that describe no person. */
/** ExifTool tags that describe only the structure of a clean file. */
export const STRUCTURE_TAGS: Record<string, ReadonlySet<string>> = {
  JFIF: new Set(['JFIFVersion', 'ResolutionUnit', 'XResolution', 'YResolution']),
  Adobe: new Set(['DCTEncodeVersion', 'APP14Flags0', 'APP14Flags1', 'ColorTransform']),
  PNG: new Set([
    'ImageWidth',
    'ImageHeight',
    'BitDepth',
    'ColorType',
    'Compression',
    'Filter',
    'Interlace',
    'Gamma',
    'Palette',
    'Transparency',
    'SignificantBits',
    'SRGBRendering',
    'WhitePointX',
    'WhitePointY',
    'RedX',
    'RedY',
    'GreenX',
    'GreenY',
    'BlueX',
    'BlueY',
    'ProfileName',
    'AnimationFrames',
    'AnimationPlays',
    'ColorPrimaries',
    'TransferCharacteristics',
    'MatrixCoefficients',
    'VideoFullRangeFlag',
  ]),
  RIFF: new Set([
    'ImageWidth',
    'ImageHeight',
    'VP8Version',
    'HorizontalScale',
    'VerticalScale',
    'WebP_Flags',
    'AlphaPreprocessing',
    'AlphaFiltering',
    'AlphaCompression',
    'BackgroundColor',
    'AnimationLoopCount',
    'Duration',
    'FrameCount',
  ]),
  GIF: new Set([
    'GIFVersion',
    'ImageWidth',
    'ImageHeight',
    'HasColorMap',
    'ColorResolutionDepth',
    'BitsPerPixel',
    'BackgroundColor',
    'AnimationIterations',
    'FrameCount',
    'Duration',
    'TransparentColor',
    'PixelAspectRatio',
    'AnimationExtension',
  ]),
  IFD0: new Set(['Orientation']),
};
export const NEUTRAL_GROUPS = new Set(['SourceFile', 'System', 'ExifTool', 'File', 'Composite']);
export const ICC_GROUPS = new Set(['ICC-header', 'ICC_Profile', 'ICC-view', 'ICC-meas']);
/** ICC text that must be blank unless the profile is a well-known standard one. */
export const ICC_TEXT = new Set([
  'ProfileDescription',
  'ProfileCopyright',
  'DeviceMfgDesc',
  'DeviceModelDesc',
  'ViewingCondDesc',
]);

/**
 * What ExifTool still shows in a clean copy beyond structure, a scrubbed standard profile and
 * neutral file facts: every entry is a problem.
 */
export function problemsOf(record: ExifToolRecord): string[] {
  const problems: string[] = [];
  const rawDescription = record['ICC_Profile:ProfileDescription'];
  const description = typeof rawDescription === 'string' ? rawDescription : '';
  for (const [key, value] of Object.entries(record)) {
    const [group = '', tag = ''] = key.includes(':') ? key.split(':', 2) : ['SourceFile', key];
    if (NEUTRAL_GROUPS.has(group)) {
      if (key === 'File:Comment' || (group === 'Composite' && tag.startsWith('GPS')))
        problems.push(key);
      continue;
    }
    if (ICC_GROUPS.has(group)) {
      if (tag === 'ProfileDateTime' && value !== '0000:00:00 00:00:00')
        problems.push(`${key}=${String(value)}`);
      if (
        ['DeviceManufacturer', 'DeviceModel', 'ProfileCreator'].includes(tag) &&
        value !== '' &&
        value !== 0
      )
        problems.push(`${key}=${String(value)}`);
      if (ICC_TEXT.has(tag) && value !== '' && !isStandardProfileName(description))
        problems.push(`${key}=${String(value)}`);
      continue;
    }
    if (!(STRUCTURE_TAGS[group]?.has(tag) ?? false))
      problems.push(`${key}=${String(value).slice(0, 40)}`);
  }
  return problems;
}
