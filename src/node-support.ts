/**
 * Which Node.js versions s3-campaigns runs on, and the one runtime notice we keep from users of a supported one.
 *
 * Supported: Node 22 (22.13+) and Node 24, the LTS lines. Node 20 reached its end of life in April 2026 but stays
 * supported for now: it is the node of the machines this project is developed and tested on, and CI runs the suite
 * on it as well as on Node 22. It goes with the first AWS SDK update past the SDK's own cut-off (its
 * releases after the first week of January 2027 require Node 22). `engines` in package.json says the same
 * (`^20.19.0 || ^22.13.0 || >=24.0.0`: 20.19 and 22.13 are ESLint's floors).
 */

/** The AWS SDK's documented switch for its NodeVersionSupportWarning. */
const SDK_NODE_WARNING_SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/**
 * On Node 20, keeps the AWS SDK from printing its 8-line `NodeVersionSupportWarning` on every command; on any other
 * version it does nothing. The warning is about SDK releases after January 2027, not the ones package-lock.json pins,
 * and it tells a user of a version we support to change it; the README states what we support and until when. Only
 * that one warning is silenced (through the SDK's own switch, read when a client is built), every other warning still
 * prints, and a value the user set wins. Call it before the first AWS SDK client is built.
 */
export function quietSdkNodeWarningOnNode20(
  env: NodeJS.ProcessEnv = process.env,
  nodeVersion: string = process.versions.node,
): void {
  if (nodeVersion.split('.')[0] !== '20') return;
  env[SDK_NODE_WARNING_SWITCH] ??= 'true';
}
