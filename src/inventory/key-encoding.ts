/**
 * Object keys in manifests and in inventory reports. A Batch Operations CSV manifest carries each key URL-encoded:
 * like `encodeURIComponent`, with `/` left readable (reference §4). Inventory CSV reports already carry keys
 * URL-encoded (spaces possibly as `+`), so they pass through byte for byte; Parquet reports carry raw keys, which are
 * encoded here.
 */

/** Encodes a raw key the way manifests expect: `encodeURIComponent`, but `/` stays as it is. */
export function encodeManifestKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/');
}

/**
 * Decodes a URL-encoded key from an inventory CSV report or a manifest: `+` is a space (as the inventory and Python's
 * `quote_plus` write it), then percent-decoding.
 * @throws URIError when the text is not valid percent-encoding (e.g. a lone `%`).
 */
export function decodeManifestKey(encoded: string): string {
  if (encoded.indexOf('%') === -1 && encoded.indexOf('+') === -1) return encoded;
  return decodeURIComponent(encoded.replace(/\+/g, ' '));
}

/**
 * Bytes that must never appear raw in a manifest key: they would break the CSV row (`,` `"` CR LF), are not valid in
 * an encoded key (space, controls, DEL) or mean the key was not URL-encoded at all (non-ASCII). A CSV inventory key
 * that contains one is re-encoded instead of passed through.
 */
export const NOT_PASSTHROUGH: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let b = 0; b < 256; b++) t[b] = b <= 0x20 || b >= 0x7f || b === 0x2c || b === 0x22 ? 1 : 0;
  return t;
})();
