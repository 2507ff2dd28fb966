/**
 * REST-XML plumbing for the S3 Control wire format: parse a request body into a plain tree, build a response
 * document. Shape knowledge (which element is a list, a map, a number) lives in the codec; this module only knows XML.
 */
import { XMLBuilder, XMLParser } from 'fast-xml-parser';

/** The namespace of every S3 Control request and response root. */
export const S3_CONTROL_XMLNS = 'http://awss3control.amazonaws.com/doc/2018-08-20/';

/** A parsed element: text, or child elements by name (a repeated name gives an array). */
export type XmlValue = string | XmlElement | XmlValue[];
export interface XmlElement {
  [name: string]: XmlValue;
}

/** The body is not well-formed XML, or uses a construct the wire format never needs (DOCTYPE, mixed content). */
export class XmlSyntaxError extends Error {
  override name = 'XmlSyntaxError';
}

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  // Tag values and keys are data: "007" must stay a string and " x " keep its spaces.
  parseTagValue: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  // Turns on numeric character references: the JS SDK writes "\n" as "&#x0A;". (HTML names like &nbsp; come along.)
  htmlEntities: true,
  // A CreateJobRequest nests about 8 deep; anything far deeper is hostile.
  maxNestedTags: 32,
});

// Characters XML 1.0 cannot carry, even as references; a value holding one could not be echoed back.
const INVALID_XML_CHARS =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const TEXT = '#text';

function normalise(value: unknown, path: string): XmlValue {
  if (typeof value === 'string') {
    if (INVALID_XML_CHARS.test(value))
      throw new XmlSyntaxError(`${path} contains a character that XML 1.0 does not allow`);
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => normalise(v, path));
  if (value !== null && typeof value === 'object') {
    const out: XmlElement = {};
    for (const [name, child] of Object.entries(value as Record<string, unknown>)) {
      if (name === TEXT) {
        // Indentation between child elements is not data; real text next to elements is mixed content.
        if (typeof child === 'string' && child.trim() === '') continue;
        throw new XmlSyntaxError(`${path} mixes text with child elements`);
      }
      out[name] = normalise(child, `${path}.${name}`);
    }
    return out;
  }
  // The parser yields only strings, arrays and objects with parseTagValue off; anything else is a parser change.
  throw new XmlSyntaxError(`${path} has an unexpected value`);
}

/**
 * Parses an XML document and returns its root element's name (namespace prefix removed) and content.
 *
 * @throws XmlSyntaxError when the body is empty, not well-formed, has a DOCTYPE, or several roots.
 */
export function parseXmlDocument(body: string): { root: string; value: XmlValue } {
  if (body.trim() === '') throw new XmlSyntaxError('the request body is empty');
  // DOCTYPE can declare entities (billion laughs); no S3 client ever sends one.
  if (/<!DOCTYPE/i.test(body)) throw new XmlSyntaxError('DOCTYPE declarations are not allowed');
  // The parser silently drops references to characters XML cannot carry (`&#1;`); refuse them instead.
  for (const m of body.matchAll(/&#(?:x([0-9a-fA-F]+)|(\d+));/g)) {
    const code = m[1] !== undefined ? parseInt(m[1], 16) : Number(m[2]);
    if (code > 0x10ffff || INVALID_XML_CHARS.test(String.fromCodePoint(code))) {
      throw new XmlSyntaxError(`the character reference ${m[0]} names a character that XML 1.0 does not allow`);
    }
  }
  let doc: unknown;
  try {
    doc = parser.parse(body, true);
  } catch (err) {
    throw new XmlSyntaxError(err instanceof Error ? err.message : String(err));
  }
  if (doc === null || typeof doc !== 'object') throw new XmlSyntaxError('no root element');
  const roots = Object.keys(doc).filter((k) => k !== TEXT);
  const [root] = roots;
  if (roots.length !== 1 || root === undefined) throw new XmlSyntaxError('expected exactly one root element');
  const value = (doc as Record<string, unknown>)[root];
  if (Array.isArray(value)) throw new XmlSyntaxError('expected exactly one root element');
  return { root, value: normalise(value, root) };
}

// The same escapes as the AWS SDK's XML builder, so "\r" survives the SDK's line-ending normalisation.
const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\r': '&#x0D;',
  '\n': '&#x0A;',
  '\u0085': '&#x85;',
  '\u2028': '&#x2028;',
};
const ESCAPE_RE = /[&<>"'\r\n\u0085\u2028]/g;

/** Escapes text for an XML element body. */
export function escapeXmlText(text: string): string {
  return text.replace(ESCAPE_RE, (ch) => ESCAPES[ch] ?? ch);
}

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  suppressEmptyNode: true,
  format: false,
  processEntities: false,
  tagValueProcessor: (_name: string, value: unknown) => escapeXmlText(String(value)),
});

/** Content for {@link buildXmlDocument}: undefined members are left out, arrays repeat their element. */
export type XmlOut = string | number | boolean | undefined | XmlOut[] | { [name: string]: XmlOut };

/** Builds `<?xml …?><root xmlns="…">content</root>`. Empty elements are written `<Name/>`. */
export function buildXmlDocument(root: string, content: { [name: string]: XmlOut }): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' + builder.build({ [root]: { '@_xmlns': S3_CONTROL_XMLNS, ...content } })
  );
}
