/** Shared vocabulary of reports, findings and strip results. */

/** Image formats pixwarden reads and cleans. */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif';

/** What a finding reveals about the person or the picture. */
export type Category =
  | 'location'
  | 'device'
  | 'software'
  | 'time'
  | 'identity'
  | 'thumbnail'
  | 'text'
  | 'generation'
  | 'provenance'
  | 'colour'
  | 'hidden-data'
  | 'threat'
  | 'structure';

export type Risk = 'high' | 'medium' | 'low';

/** Where in the file a finding lives. */
export type Source =
  | 'exif'
  | 'xmp'
  | 'iptc'
  | 'icc'
  | 'jfif'
  | 'png-text'
  | 'gif-extension'
  | 'comment'
  | 'trailer'
  | 'container';

/** A GPS position in decimal degrees, negative south and west. */
export interface GpsValue {
  latitude: number;
  longitude: number;
  altitude?: number;
  /** ISO 8601, UTC. */
  time?: string;
}

export type FindingValue = string | number | boolean | GpsValue | null;

export interface Finding {
  /** Stable identifier of the kind of finding, such as `GPS_POSITION`. */
  code: string;
  category: Category;
  source: Source;
  /** The field or part, such as `GPSLatitude`, `APP1 Exif`, `tEXt Author`. */
  name: string;
  value: FindingValue;
  risk: Risk;
}

/** The report `inspect` returns for one file. */
export interface Report {
  format: ImageFormat;
  width: number;
  height: number;
  frames: number;
  bytes: number;
  /** The highest risk among the findings, or `none`. */
  risk: Risk | 'none';
  findings: Finding[];
}

/** What kind of thing a stripped or kept part was. */
export type PartCategory =
  | 'metadata'
  | 'thumbnail'
  | 'text'
  | 'time'
  | 'colour'
  | 'orientation'
  | 'copyright'
  | 'provenance'
  | 'hidden-data'
  | 'unknown';

/** One part of the input that the strip removed or kept (and rewrote). */
export interface PartRecord {
  category: PartCategory;
  /** Which part: `APP1 Exif`, `tEXt`, `trailing ZIP`. */
  name: string;
  bytes: number;
}

/** What the lossless strip may keep. */
export type KeepItem = 'orientation' | 'icc' | 'copyright';

/** The strip policy: a keep-list, the same for every format. */
export interface StripPolicy {
  readonly keep: readonly KeepItem[];
  /**
   * Accept bytes whose format contradicts a declared type (`declaredType`), instead of refusing
   * them with ERR_TYPE_MISMATCH. Default false.
   */
  readonly allowTypeMismatch?: boolean;
}
