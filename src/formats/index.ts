/** The dispatcher: one container module per format, chosen by the detected format. */
import type { ImageFormat } from '../types.js';
import { gif } from './gif.js';
import { jpeg } from './jpeg.js';
import { png } from './png.js';
import type { FormatHandler } from './types.js';
import { webp } from './webp.js';

const HANDLERS: Record<ImageFormat, FormatHandler> = { jpeg, png, webp, gif };

export function handlerFor(format: ImageFormat): FormatHandler {
  return HANDLERS[format];
}

export type { FormatHandler, ParsedImage, Part, MetadataBlock, Carry } from './types.js';
