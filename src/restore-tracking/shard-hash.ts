/**
 * Which shard an object belongs to: a stable 32-bit hash of its bucket and (decoded) key, modulo the shard count.
 * Events name an object by bucket and key, so they find its shard in O(1) without reading any shard.
 *
 * The version id is deliberately not hashed: S3 events of a versioned bucket carry the version while a manifest
 * without a version column tracks the key's latest one, and events of unversioned buckets (and moto's) carry none.
 * All versions of a key share a shard; versions are told apart inside it.
 *
 * The hash is FNV-1a over the UTF-8 bytes of `bucket`, a `\n` byte and `key`, then MurmurHash3's 32-bit finalizer
 * (FNV alone mixes its last bytes poorly, and keys often differ only in their last characters).
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function fnvByte(h: number, b: number): number {
  return Math.imul(h ^ b, FNV_PRIME);
}

/** FNV-1a over the UTF-8 encoding of `s`, without allocating it. */
function fnvUtf8(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      h = fnvByte(h, c);
      continue;
    }
    if (c < 0x800) {
      h = fnvByte(h, 0xc0 | (c >> 6));
      h = fnvByte(h, 0x80 | (c & 0x3f));
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        h = fnvByte(h, 0xf0 | (c >> 18));
        h = fnvByte(h, 0x80 | ((c >> 12) & 0x3f));
        h = fnvByte(h, 0x80 | ((c >> 6) & 0x3f));
        h = fnvByte(h, 0x80 | (c & 0x3f));
        continue;
      }
    }
    // A lone surrogate is encoded as U+FFFD, as Buffer.from(s, 'utf8') does.
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    h = fnvByte(h, 0xe0 | (c >> 12));
    h = fnvByte(h, 0x80 | ((c >> 6) & 0x3f));
    h = fnvByte(h, 0x80 | (c & 0x3f));
  }
  return h;
}

/** MurmurHash3's fmix32: every input bit affects every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The object's 32-bit hash (unsigned). `key` is the raw (decoded) key. */
export function objectHash(bucket: string, key: string): number {
  let h = fnvUtf8(FNV_OFFSET, bucket);
  h = fnvByte(h, 0x0a);
  return fmix32(fnvUtf8(h, key));
}

/** The shard (0-based) of an object among `shardCount` shards. */
export function shardOf(bucket: string, key: string, shardCount: number): number {
  return shardCount <= 1 ? 0 : objectHash(bucket, key) % shardCount;
}
