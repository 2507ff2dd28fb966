/**
 * Part planning for a multipart copy: how an object of a given size is cut into `UploadPartCopy` ranges within S3's
 * limits (parts of 5 MiB – 5 GiB, the last one smaller; at most 10,000 parts).
 */

const MiB = 1024 ** 2;

/** S3's smallest part (every part but the last). */
export const MIN_PART_BYTES = 5 * MiB;
/** S3's largest part. */
export const MAX_PART_BYTES = 5 * 1024 ** 3;
/** S3's largest part number. */
export const MAX_PARTS = 10_000;
/**
 * Default part size: a 5 GB object is 20 parts, few enough that a retry re-copies little and the part list stays
 * short; objects above ~2.4 TiB get larger parts automatically (the 10,000-part cap).
 */
export const DEFAULT_PART_BYTES = 256 * MiB;

/** How one object is cut into parts. */
export interface PartPlan {
  /** Bytes of the object. */
  objectBytes: number;
  /** Bytes of every part but the last: the requested size, raised to a whole MiB when 10,000 parts would not do. */
  partSizeBytes: number;
  /** Number of parts, 1 – 10,000 (an empty object is one empty part). */
  count: number;
}

/**
 * Plans the parts of an object of `objectBytes`.
 * @param requestedPartBytes 5 MiB – 5 GiB. @default DEFAULT_PART_BYTES
 * @throws RangeError when the requested size is out of range or the object cannot fit in 10,000 parts of 5 GiB.
 */
export function planParts(objectBytes: number, requestedPartBytes: number = DEFAULT_PART_BYTES): PartPlan {
  if (!Number.isSafeInteger(objectBytes) || objectBytes < 0) {
    throw new RangeError(`object size ${objectBytes} is not a byte count`);
  }
  if (!Number.isSafeInteger(requestedPartBytes)) {
    throw new RangeError(`partSizeBytes ${requestedPartBytes} is not a whole number of bytes`);
  }
  if (requestedPartBytes < MIN_PART_BYTES) {
    throw new RangeError(`partSizeBytes ${requestedPartBytes} is below S3's minimum part size of ${MIN_PART_BYTES}`);
  }
  if (requestedPartBytes > MAX_PART_BYTES) {
    throw new RangeError(`partSizeBytes ${requestedPartBytes} is above S3's maximum part size of ${MAX_PART_BYTES}`);
  }
  let partSizeBytes = requestedPartBytes;
  if (Math.ceil(objectBytes / partSizeBytes) > MAX_PARTS) {
    partSizeBytes = Math.ceil(objectBytes / MAX_PARTS / MiB) * MiB;
    if (partSizeBytes > MAX_PART_BYTES) {
      throw new RangeError(`an object of ${objectBytes} bytes does not fit in ${MAX_PARTS} parts of ${MAX_PART_BYTES}`);
    }
  }
  return { objectBytes, partSizeBytes, count: Math.max(1, Math.ceil(objectBytes / partSizeBytes)) };
}

/** Bytes of part `partNumber` (1-based) of `plan`. */
export function partBytes(plan: PartPlan, partNumber: number): number {
  const start = (partNumber - 1) * plan.partSizeBytes;
  return Math.max(0, Math.min(plan.objectBytes, start + plan.partSizeBytes) - start);
}

/**
 * The `x-amz-copy-source-range` of part `partNumber` (1-based): `bytes=first-last`, inclusive. Undefined for the one
 * part of an empty object, which has no byte to name (the part then copies the whole, empty, source).
 */
export function partRange(plan: PartPlan, partNumber: number): string | undefined {
  const size = partBytes(plan, partNumber);
  if (size === 0) return undefined;
  const first = (partNumber - 1) * plan.partSizeBytes;
  return `bytes=${first}-${first + size - 1}`;
}
