/**
 * Threat findings: what in a file's metadata could hurt whoever displays or converts it, beside
 * what it reveals about people. Script or markup hidden in text (a gallery that shows an EXIF
 * comment unescaped runs it), shell or PHP openers (aimed at converters and upload folders), and
 * file paths or URLs in text chunks and profile names (the kind of value that once made a
 * converter copy a server's files into its output).
 *
 * No pattern backtracks over more than a short, bounded stretch of text, and at most
 * `maxScannedChars` of one file's text are searched: a megabyte of crafted text costs
 * milliseconds, not minutes.
 */
import { latin1 } from './bounds.js';
import type { MetadataBlock, ParsedImage } from './formats/types.js';
import type { Finding, Source } from './types.js';

/** HTML elements that run script, load resources or take over a page. */
const MARKUP =
  /<\/?(script|iframe|frame|frameset|object|embed|applet|svg|math|img|image|video|audio|source|a|body|html|head|style|link|meta|base|form|input|button|textarea)(?=[\s/>])/i;
/** HTML event handlers by name (a generic "on…=" would match XMP properties such as onlineSource). */
const EVENT_HANDLER =
  /\bon(load|error|click|dblclick|mouse[a-z]{2,8}|key[a-z]{2,5}|focus|focusin|blur|submit|change|input|abort|animation[a-z]{3,9}|begin|end|toggle|pointer[a-z]{2,6}|touch[a-z]{3,6}|wheel|scroll|resize|unload|beforeunload|message|hashchange|pageshow|show|select|drag[a-z]{0,5}|drop|copy|cut|paste|play|pause|canplay|invalid|reset|search|transitionend)\s*=/i;
const SCRIPT_URL = /\b(javascript|vbscript|livescript)\s*:|\bdata\s*:\s*text\/html/i;
const PHP_OPENER = /<\?(php\b|=)/i;
/** Shell openers, looked for in decoded text only: in binary data they occur by chance. */
const SHELL =
  /^#!\s*\/|\$\([^)\n]{1,200}\)|`[^`\n]{1,200}`|[;&|]\s*(rm|curl|wget|bash|sh|nc|python|perl|chmod)\s/;
/** Markup in raw binary (EXIF, IPTC): only unmistakable tags, since bytes match by chance. */
const BINARY_MARKUP = /<(script|iframe|object|embed|applet|svg|img|body|html)[\s/>]/i;
/** URLs of local files and shares, and web URLs (a link out, which matters less). */
const LOCAL_URL = /\b(file|smb|gopher|dict|ldap):\/\/[^\s"'<>]{1,200}/i;
const WEB_URL = /\b(https?|ftp):\/\/[^\s"'<>]{1,200}/i;
const PATH =
  /(^|[\s"'=:(])(\/(etc|proc|sys|dev|var|home|root|usr|tmp|opt|srv|mnt|private)\/[^\s"'<>]{0,200}|[a-z]:\\[^\s"'<>]{0,200}|\\\\[a-z0-9._-]+\\[^\s"'<>]{0,200}|(\.\.[/\\]){1,20}[^\s"'<>]{0,200})/i;

/** Text keywords whose values name files or places on purpose: not file references. */
const XMP_KEYWORD = 'XML:com.adobe.xmp';

const excerptChars = 80;
/** Text searched per file, over all its metadata. */
const maxScannedChars = 4 * 1024 * 1024;

function excerpt(text: string, index: number): string {
  const start = Math.max(0, index - 20);
  return (
    text
      .slice(start, start + excerptChars)
      // eslint-disable-next-line no-control-regex -- control characters are what is replaced
      .replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
      .trim()
  );
}

/** The XML text with character references decoded, so that escaped markup is seen too. */
function unescapeXml(text: string): string {
  return text.replace(
    /&(lt|gt|amp|quot|apos|#x[0-9a-f]{1,6}|#[0-9]{1,7});/gi,
    (ref, name: string) => {
      const lower = name.toLowerCase();
      if (lower === 'lt') return '<';
      if (lower === 'gt') return '>';
      if (lower === 'amp') return '&';
      if (lower === 'quot') return '"';
      if (lower === 'apos') return "'";
      const code = lower.startsWith('#x')
        ? parseInt(lower.slice(2), 16)
        : parseInt(lower.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : ref;
    },
  );
}

interface Text {
  readonly where: string;
  readonly source: Source;
  readonly text: string;
  /** Decoded text, not raw binary: all patterns apply, not only unmistakable markup. */
  readonly decoded: boolean;
  /** Text where a file path or URL is suspicious: PNG text values and profile names. */
  readonly references: boolean;
}

function blockTexts(block: MetadataBlock): Text[] {
  // Pixels, not text.
  if (block.kind === 'thumbnail') return [];
  if (block.kind === 'xmp' || (block.kind === 'text' && block.keyword === XMP_KEYWORD)) {
    const xml = block.text ?? Buffer.from(block.data).toString('utf8');
    return [
      {
        where: block.name,
        source: 'xmp',
        text: unescapeXml(xml),
        decoded: true,
        references: false,
      },
    ];
  }
  if (block.kind === 'text') {
    const text = block.text ?? latin1(block.data);
    return [
      {
        where: `${block.name} ${block.keyword ?? ''}`.trim(),
        source: 'png-text',
        text: `${block.keyword ?? ''}\n${text}`,
        decoded: block.text !== undefined,
        references: true,
      },
    ];
  }
  if (block.kind === 'comment') {
    return [
      {
        where: block.name,
        source: 'comment',
        text: Buffer.from(block.data).toString('utf8'),
        decoded: true,
        references: false,
      },
    ];
  }
  // EXIF and IPTC are binary: their raw bytes are searched for markup only; their decoded
  // values come through the value findings.
  const source: Source = block.kind === 'iptc' ? 'iptc' : 'exif';
  return [
    { where: block.name, source, text: latin1(block.data), decoded: false, references: false },
  ];
}

function findingTexts(findings: readonly Finding[]): Text[] {
  const texts: Text[] = [];
  for (const finding of findings) {
    if (typeof finding.value !== 'string' || finding.category === 'threat') continue;
    const profileName = finding.source === 'icc';
    texts.push({
      where: finding.name,
      source: finding.source,
      text: finding.value,
      decoded: true,
      references: profileName,
    });
  }
  return texts;
}

/**
 * Threat findings for the metadata of a parsed file: script or markup in any text, and file
 * paths or URLs in PNG text and profile names. `values` are the findings decoded so far (EXIF,
 * XMP and IPTC values, profile descriptions).
 */
export function threatFindings(parsed: ParsedImage, values: readonly Finding[]): Finding[] {
  const findings: Finding[] = [];
  const seen = new Set<string>();
  const add = (code: string, text: Text, index: number, risk: Finding['risk']): void => {
    const key = `${code} ${text.where}`;
    if (seen.has(key)) return;
    seen.add(key);
    findings.push({
      code,
      category: 'threat',
      source: text.source,
      name: text.where,
      value: excerpt(text.text, index),
      risk,
    });
  };
  const texts = [...parsed.blocks.flatMap(blockTexts), ...findingTexts(values)];
  let budget = maxScannedChars;
  for (const text of texts) {
    if (budget <= 0) break;
    budget -= text.text.length;
    const patterns = text.decoded
      ? [MARKUP, EVENT_HANDLER, SCRIPT_URL, PHP_OPENER]
      : [BINARY_MARKUP, SCRIPT_URL, PHP_OPENER];
    for (const pattern of patterns) {
      const match = pattern.exec(text.text);
      if (match !== null) add('SCRIPT_IN_METADATA', text, match.index, 'high');
    }
    // XMP is markup itself and names its namespaces by URL: only script counts there.
    if (text.decoded && text.source !== 'xmp') {
      const shell = SHELL.exec(text.text);
      if (shell !== null) add('SHELL_IN_METADATA', text, shell.index, 'high');
    }
    if (text.references) {
      const local = LOCAL_URL.exec(text.text) ?? PATH.exec(text.text);
      if (local !== null) add('FILE_REFERENCE', text, local.index, 'medium');
      const web = WEB_URL.exec(text.text);
      if (web !== null) add('URL_REFERENCE', text, web.index, 'low');
    }
  }
  return findings;
}
