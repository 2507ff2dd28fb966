import { quietSdkNodeWarningOnNode20 } from '../../src/node-support';

const SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

describe('quietSdkNodeWarningOnNode20', () => {
  test.each([
    // [node version, what the user set, what the SDK then reads]
    ['20.19.0', undefined, 'true'],
    ['20.20.2', undefined, 'true'],
    ['20.20.2', 'false', 'false'],
    ['22.13.0', undefined, undefined],
    ['24.0.0', undefined, undefined],
    ['26.1.0', undefined, undefined],
    ['2.0.0', undefined, undefined],
  ])('on Node %s with the switch %s, the SDK reads %s', (version, set, expected) => {
    const env: NodeJS.ProcessEnv = set === undefined ? {} : { [SWITCH]: set };
    quietSdkNodeWarningOnNode20(env, version);
    expect(env[SWITCH]).toBe(expected);
    // Nothing else is touched: other warnings still print.
    expect(Object.keys(env)).toEqual(expected === undefined ? [] : [SWITCH]);
  });
});
