// POST /v1/upload (fact sheet §2.3): exactly one of a multipart `file` part or a JSON
// `image_url`; PNG, JPEG or WebP detected from the bytes; at most 5 MB. The sandbox never fetches
// from the network: `image_url`s are answered from the fixture's `remote_images`.
import { isIP } from 'node:net';
import { ApiError, invalidValue } from './errors';
import type { Organization } from './organization';
import type { World } from './world';

export const MAX_UPLOAD_BYTES = 5 * 1024 * 1024;

const uploadError = (code: string, message: string, param: string | null = null): ApiError => new ApiError(400, 'invalid_request_error', code, message, param);

type Detected = { mimetype: 'image/png' | 'image/jpeg' | 'image/webp'; extension: 'png' | 'jpg' | 'webp' };

/** The image format from magic bytes, checking enough structure to call the image decodable. */
export function detectImage(bytes: Uint8Array): Detected {
  if (bytes.byteLength === 0) throw uploadError('invalid_file', 'The file is empty.', 'file');
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const starts = (sig: number[], at = 0): boolean => sig.every((v, i) => b[at + i] === v);
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) {
    // IHDR must come first, 13 bytes long, with non-zero width and height.
    if (b.length < 33 || b.toString('latin1', 12, 16) !== 'IHDR' || b.readUInt32BE(8) !== 13 || b.readUInt32BE(16) === 0 || b.readUInt32BE(20) === 0) {
      throw uploadError('invalid_file', 'The PNG file is truncated or corrupt.', 'file');
    }
    return { mimetype: 'image/png', extension: 'png' };
  }
  if (starts([0xff, 0xd8, 0xff])) {
    if (b.length < 4 || b[b.length - 2] !== 0xff || b[b.length - 1] !== 0xd9) throw uploadError('invalid_file', 'The JPEG file is truncated or corrupt.', 'file');
    return { mimetype: 'image/jpeg', extension: 'jpg' };
  }
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') {
    if (b.length < 16 || !b.toString('latin1', 12, 16).startsWith('VP8')) throw uploadError('invalid_file', 'The WebP file is truncated or corrupt.', 'file');
    return { mimetype: 'image/webp', extension: 'webp' };
  }
  const known = starts([0x47, 0x49, 0x46, 0x38]) || starts([0x42, 0x4d]) || starts([0x49, 0x49, 0x2a, 0x00]) || starts([0x4d, 0x4d, 0x00, 0x2a]) || (b.length >= 12 && b.toString('latin1', 4, 12).startsWith('ftyp'));
  if (known) throw uploadError('unsupported_mimetype', 'Only PNG, JPEG and WebP images are accepted.', 'file');
  throw uploadError('invalid_file', 'The file is not a decodable image.', 'file');
}

function acceptBytes(world: World, org: Organization, bytes: Uint8Array): { file_id: string } {
  if (bytes.byteLength > MAX_UPLOAD_BYTES) throw uploadError('file_too_large', 'Images may be at most 5 MB.', 'file');
  const detected = detectImage(bytes);
  return { file_id: world.storeFile(detected.mimetype, detected.extension, bytes, org) };
}

/** Whether an IP literal is public and globally routable (the SSRF guard of §2.3). */
export function isPublicIp(ip: string): boolean {
  if (isIP(ip) === 4) {
    const [a, b] = ip.split('.').map(Number) as [number, number];
    if (a === 10 || a === 127 || a === 0 || a >= 224) return false;
    if (a === 169 && b === 254) return false;
    if (a === 172 && b >= 16 && b <= 31) return false;
    if (a === 192 && b === 168) return false;
    if (a === 100 && b >= 64 && b <= 127) return false;
    return true;
  }
  const lower = ip.toLowerCase();
  return !(lower === '::' || lower === '::1' || lower.startsWith('fe80') || lower.startsWith('fc') || lower.startsWith('fd') || lower.startsWith('::ffff:'));
}

function fetchRemote(world: World, org: Organization, imageUrl: unknown): { file_id: string } {
  if (typeof imageUrl !== 'string' || imageUrl.trim() === '') throw uploadError('invalid_image_url', 'image_url must be an absolute http(s) URL.', 'image_url');
  let url: URL;
  try {
    url = new URL(imageUrl);
  } catch {
    throw uploadError('invalid_image_url', 'image_url must be an absolute http(s) URL.', 'image_url');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw uploadError('invalid_image_url', 'image_url must be an absolute http(s) URL.', 'image_url');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.internal') || host.endsWith('.local')) {
    throw uploadError('invalid_image_url', 'image_url must resolve to a public address.', 'image_url');
  }
  if (isIP(host) !== 0 && !isPublicIp(host)) throw uploadError('invalid_image_url', 'image_url must resolve to a public address.', 'image_url');
  if (host.endsWith('.invalid')) throw uploadError('invalid_image_url', 'The host of image_url does not resolve.', 'image_url');
  const remote = world.remoteImages[imageUrl];
  if (!remote) throw uploadError('image_fetch_failed', 'Fetching image_url failed (the sandbox only serves URLs listed in its fixture\'s remote_images).', 'image_url');
  if (remote.redirect_to !== undefined || (remote.status >= 300 && remote.status < 400)) throw uploadError('too_many_redirects', 'image_url answered with a redirect; redirects are not followed.', 'image_url');
  if (remote.status < 200 || remote.status >= 300) throw uploadError('image_fetch_failed', `Fetching image_url failed with HTTP ${remote.status}.`, 'image_url');
  return acceptBytes(world, org, Buffer.from(remote.content_base64 ?? '', 'base64'));
}

/** Split a multipart/form-data body into named parts. */
export function parseMultipart(body: Buffer, contentType: string): Map<string, Buffer> {
  const match = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const boundary = match?.[1] ?? match?.[2];
  if (!boundary) throw invalidValue('file', 'multipart/form-data needs a boundary.', 'invalid_file');
  const delimiter = Buffer.from(`--${boundary}`);
  const parts = new Map<string, Buffer>();
  let pos = body.indexOf(delimiter);
  while (pos >= 0) {
    const next = body.indexOf(delimiter, pos + delimiter.length);
    if (next < 0) break;
    const part = body.subarray(pos + delimiter.length, next);
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd >= 0) {
      const headers = part.subarray(0, headerEnd).toString('utf8');
      const name = /name="([^"]*)"/i.exec(headers)?.[1];
      let content = part.subarray(headerEnd + 4);
      if (content.length >= 2 && content[content.length - 2] === 0x0d && content[content.length - 1] === 0x0a) content = content.subarray(0, content.length - 2);
      if (name !== undefined && !parts.has(name)) parts.set(name, content);
    }
    pos = next;
  }
  return parts;
}

/** POST /v1/upload for `org` (the key's organization): the file is stored as that organization's. */
export function handleUpload(world: World, org: Organization, contentType: string, body: Buffer): { file_id: string } {
  const type = contentType.toLowerCase();
  if (type.startsWith('multipart/form-data')) {
    const parts = parseMultipart(body, contentType);
    const file = parts.get('file');
    const imageUrl = parts.get('image_url');
    if (file && imageUrl) throw invalidValue('image_url', 'Send either a file part or image_url, not both.');
    if (file) return acceptBytes(world, org, file);
    if (imageUrl) return fetchRemote(world, org, imageUrl.toString('utf8'));
    throw invalidValue('file', 'Send the image as a multipart "file" part or as JSON {"image_url": "..."}.');
  }
  if (type.startsWith('application/json') || type === '') {
    let parsed: unknown = {};
    if (body.length > 0) {
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        throw invalidValue('body', 'The request body is not valid JSON.', 'invalid_json');
      }
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalidValue('body', 'The request body must be a JSON object.');
    const obj = parsed as Record<string, unknown>;
    const extra = Object.keys(obj).find((k) => k !== 'image_url');
    if (extra !== undefined) throw invalidValue(extra, `Unrecognized request parameter: '${extra}'.`, 'unknown_parameter');
    if (!('image_url' in obj)) throw invalidValue('file', 'Send the image as a multipart "file" part or as JSON {"image_url": "..."}.');
    return fetchRemote(world, org, obj.image_url);
  }
  throw invalidValue('body', 'Send the image as multipart/form-data or JSON.');
}
