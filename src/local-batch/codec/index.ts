/** The S3 Control job API wire codec: request decoding with validation, response and error encoding. */
export * from './errors';
export * from './create-job';
export * from './manifest-generator';
export * from './responses';
export { parseWire, renderPath } from './wire-schema';
