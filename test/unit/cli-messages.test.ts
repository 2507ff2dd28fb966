/**
 * The CLI's messages: a bad command line in one line, `list --phase` against the real names, how an ended campaign
 * ended, and JSON syntax errors by line and column.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import type { WorkflowExecutionStatusName } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import fc from 'fast-check';

import { buildProgram } from '../../src/cli';
import { usageErrorLine } from '../../src/cli/flags';
import { findJsonSyntaxError, parseJsonText } from '../../src/cli/json-syntax';
import { endedAs, parsePhase } from '../../src/cli/phases';
import { CAMPAIGN_SEARCH_ATTRIBUTES as SA } from '../../src/shared/search-attributes';

describe('a bad command line is one line that points at --help', () => {
  test.each([
    [
      `error: option '--limit <n>' argument '0' is invalid. --limit must be 1–1000, got "0"`,
      's3-campaigns list',
      's3-campaigns list: --limit must be 1–1000, got "0"; see s3-campaigns list --help',
    ],
    [
      `error: option '--overlap <policy>' argument 'never' is invalid. Allowed choices are skip, buffer-one.`,
      's3-campaigns schedule create',
      's3-campaigns schedule create: --overlap "never": Allowed choices are skip, buffer-one; see s3-campaigns schedule create --help',
    ],
    [
      "error: unknown option '--watc'\n(Did you mean --watch?)",
      's3-campaigns status',
      "s3-campaigns status: unknown option '--watc' (Did you mean --watch?); see s3-campaigns status --help",
    ],
    [
      "error: missing required argument 'workflowId'",
      's3-campaigns status',
      "s3-campaigns status: missing required argument 'workflowId'; see s3-campaigns status --help",
    ],
  ])('%s', (message, path, line) => {
    expect(usageErrorLine(message, path)).toBe(line);
  });
});

describe('list --phase', () => {
  test.each([
    ['AwaitingApproval', 'AwaitingApproval'],
    ['awaitingapproval', 'AwaitingApproval'],
    [' succeeded ', 'Succeeded'],
    ['WaitingToRetry', 'WaitingToRetry'],
    ['CompletedWithFailures', 'CompletedWithFailures'],
  ])('%j is the search-attribute value %s', (value, canonical) => {
    expect(parsePhase(value)).toBe(canonical);
  });

  test.each([
    [
      'bogus',
      /^--phase must be a phase \(BuildingManifest, .*Reporting\) or an outcome \(Succeeded, .*NothingToDo\), got "bogus"$/,
    ],
    ['Done', /got "Done" \(a finished campaign is listed under its outcome\)$/],
    ['Awaiting', /got "Awaiting"/],
  ])('%j is refused', (value, message) => {
    expect(() => parsePhase(value)).toThrow(message);
  });
});

describe('how an ended campaign ended', () => {
  const described = (status: WorkflowExecutionStatusName, phase?: string) => ({
    status: { code: 0, name: status },
    typedSearchAttributes: new TypedSearchAttributes(phase ? [{ key: SA.phase, value: phase }] : []),
  });
  test.each<[WorkflowExecutionStatusName, string | undefined, string]>([
    ['COMPLETED', 'Succeeded', 'Succeeded'],
    ['FAILED', 'Failed', 'Failed'],
    ['COMPLETED', 'Rejected', 'Rejected'],
    ['TERMINATED', 'AwaitingApproval', 'Terminated'],
    ['TIMED_OUT', undefined, 'TimedOut'],
  ])('%s with CampaignPhase %s: %s', (st, phase, expected) => {
    expect(endedAs(described(st, phase) as Parameters<typeof endedAs>[0])).toBe(expected);
  });
});

describe('JSON syntax errors by line and column', () => {
  test.each<[string, string, number, number, string | RegExp]>([
    [
      'a missing comma',
      '{\n  "name": "x"\n  "region": "us-east-1"\n}',
      3,
      3,
      'expected "," or "}" after a property value, found "\\""',
    ],
    [
      'a trailing comma in an array',
      '{\n  "keys": ["a", "b",]\n}',
      2,
      21,
      'a comma before "]" (JSON allows no trailing comma)',
    ],
    ['a trailing comma in an object', '{"a": 1,}', 1, 9, 'a comma before "}" (JSON allows no trailing comma)'],
    ['an unquoted name', '{\n  name: "x"\n}', 2, 3, 'expected a property name in double quotes, found "n"'],
    ['single quotes', '{\n  "a": \'x\'\n}', 2, 8, 'strings need double quotes, not single quotes'],
    ['True', '{"a": True}', 1, 7, /^unexpected word True/],
    ['an unclosed string', '{"a": "x', 1, 7, 'a string that is not closed on its line'],
    ['a missing brace', '{"a": 1', 1, 8, 'expected "," or "}" after a property value, found the end of the file'],
    ['an empty file', '', 1, 1, 'expected a value, found the end of the file'],
    ['text after the value', '{}\nx', 2, 1, 'unexpected "x" after the JSON value'],
    ['a leading zero', '{"a": 01}', 1, 7, 'not a valid JSON number'],
    ['a tab in a string', '{"a": "x\ty"}', 1, 9, /^a control character \(U\+0009\) in a string/],
    ['a bad escape', '{"a": "\\x"}', 1, 8, 'an unknown escape \\x in a string'],
  ])('%s', (_what, text, line, column, message) => {
    expect(() => JSON.parse(text)).toThrow();
    const p = findJsonSyntaxError(text);
    expect(p).toMatchObject({ line, column });
    expect(p!.message).toMatch(message);
  });

  test('the excerpt shows the line with a caret under the column, and only the part around it on a long line', () => {
    expect(findJsonSyntaxError('{\n  "keys": ["a", "b",]\n}')!.excerpt).toBe(
      '  "keys": ["a", "b",]\n                    ^',
    );
    const long = `{"keys": [${Array.from({ length: 2000 }, (_, i) => `"k${i}"`).join(',')} "oops"]}`;
    const p = findJsonSyntaxError(long)!;
    expect(p).toMatchObject({ line: 1, column: long.indexOf('"oops"') + 1 });
    expect(p.message).toBe('expected "," or "]" after an array element, found "\\""');
    const [shownLine, caret] = p.excerpt.split('\n') as [string, string];
    expect(shownLine.length).toBeLessThanOrEqual(82);
    expect(shownLine.startsWith('…')).toBe(true);
    expect(caret).toMatch(/^ +\^$/);
    expect(shownLine.slice(caret.length - 1)).toBe('"oops"]}');
  });

  test('parseJsonText says line and column and skips a byte-order mark', () => {
    expect(parseJsonText('\ufeff{"a": 1}')).toEqual({ a: 1 });
    expect(() => parseJsonText('{\n  "a": 1,\n}')).toThrow(/^line 3, column 1: a comma before "}"/);
  });

  test('agrees with JSON.parse on what is valid JSON', () => {
    const mutated = fc
      .tuple(fc.json(), fc.nat(), fc.constantFrom('', ',', '"', '}', ']', ':', 'x', '\n', '\\', '0'))
      .map(([json, at, insert]) => {
        const i = at % (json.length + 1);
        return json.slice(0, i) + insert + json.slice(i + (insert === '' ? 1 : 0));
      });
    fc.assert(
      fc.property(fc.oneof(fc.json(), mutated, fc.string()), (text) => {
        let valid = true;
        try {
          JSON.parse(text);
        } catch {
          valid = false;
        }
        expect(findJsonSyntaxError(text) === undefined).toBe(valid);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('s3-campaigns --version', () => {
  test("prints the package's version", () => {
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(buildProgram().version()).toBe(pkg.version);
  });
});
