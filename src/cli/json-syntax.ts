/**
 * Where a JSON text goes wrong, by line and column. `JSON.parse` says "at position 1234" at best, and for some
 * mistakes (a trailing comma on Node 20) gives no position at all; people fix a file in an editor, by line.
 */

/** The first syntax error of a JSON text. */
export interface JsonSyntaxProblem {
  /** 1-based. */
  line: number;
  /** 1-based, in characters of that line. */
  column: number;
  /** What is wrong there, e.g. `expected "," or "}" after a property value, found "\""`. */
  message: string;
  /** The line (or, for a long line, the part around the column), then a caret under the column. */
  excerpt: string;
}

class Fault {
  constructor(
    readonly at: number,
    readonly message: string,
  ) {}
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** A character as a message shows it. */
function shown(c: string | undefined): string {
  return c === undefined ? 'the end of the file' : JSON.stringify(c);
}

/** A recursive-descent check of RFC 8259 JSON that stops at the first error. */
class Scanner {
  private i = 0;
  constructor(private readonly t: string) {}

  run(): void {
    this.value();
    this.ws();
    if (this.i < this.t.length) throw new Fault(this.i, `unexpected ${shown(this.t[this.i])} after the JSON value`);
  }

  private ws(): void {
    while (this.i < this.t.length && WHITESPACE.has(this.t[this.i]!)) this.i++;
  }

  private value(): void {
    this.ws();
    const c = this.t[this.i];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const word of ['true', 'false', 'null']) {
      if (this.t.startsWith(word, this.i)) {
        this.i += word.length;
        return;
      }
    }
    const word = /[A-Za-z_$][\w$]*/y;
    word.lastIndex = this.i;
    const bare = word.exec(this.t)?.[0];
    if (bare)
      throw new Fault(
        this.i,
        `unexpected word ${bare}: a string needs double quotes (JSON has only true, false and null)`,
      );
    if (c === "'") throw new Fault(this.i, 'strings need double quotes, not single quotes');
    throw new Fault(this.i, `expected a value, found ${shown(c)}`);
  }

  private object(): void {
    this.i++;
    this.ws();
    if (this.t[this.i] === '}') {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      const c = this.t[this.i];
      if (c !== '"') {
        throw new Fault(
          this.i,
          c === '}'
            ? 'a comma before "}" (JSON allows no trailing comma)'
            : `expected a property name in double quotes, found ${shown(c)}`,
        );
      }
      this.string();
      this.ws();
      if (this.t[this.i] !== ':') {
        throw new Fault(this.i, `expected ":" after the property name, found ${shown(this.t[this.i])}`);
      }
      this.i++;
      this.value();
      this.ws();
      const next = this.t[this.i];
      this.i++;
      if (next === '}') return;
      if (next !== ',') {
        throw new Fault(this.i - 1, `expected "," or "}" after a property value, found ${shown(next)}`);
      }
    }
  }

  private array(): void {
    this.i++;
    this.ws();
    if (this.t[this.i] === ']') {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.t[this.i] === ']') throw new Fault(this.i, 'a comma before "]" (JSON allows no trailing comma)');
      this.value();
      this.ws();
      const next = this.t[this.i];
      this.i++;
      if (next === ']') return;
      if (next !== ',') throw new Fault(this.i - 1, `expected "," or "]" after an array element, found ${shown(next)}`);
    }
  }

  private string(): void {
    const start = this.i;
    this.i++;
    for (;;) {
      const c = this.t[this.i];
      if (c === undefined || c === '\n') throw new Fault(start, 'a string that is not closed on its line');
      if (c === '"') {
        this.i++;
        return;
      }
      if (c === '\\') {
        const e = this.t[this.i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(this.t.slice(this.i + 2, this.i + 6))) {
            throw new Fault(this.i, 'a \\u escape needs four hex digits');
          }
          this.i += 6;
          continue;
        }
        if (e === undefined || !ESCAPES.has(e)) throw new Fault(this.i, `an unknown escape \\${e ?? ''} in a string`);
        this.i += 2;
        continue;
      }
      if (c < ' ') {
        throw new Fault(
          this.i,
          `a control character (U+${c.charCodeAt(0).toString(16).padStart(4, '0')}) in a string; write it escaped, e.g. \\t`,
        );
      }
      this.i++;
    }
  }

  private number(): void {
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.t);
    const next = m ? this.t[this.i + m[0].length] : undefined;
    if (!m || (next !== undefined && /[\d.eE+-]/.test(next))) throw new Fault(this.i, 'not a valid JSON number');
    this.i += m[0].length;
  }
}

/** How much of a long line the excerpt shows on each side of the column. */
const EXCERPT_RADIUS = 40;

function excerptAt(text: string, at: number): { line: number; column: number; excerpt: string } {
  const lineStart = text.lastIndexOf('\n', at - 1) + 1;
  const lineEnd = text.indexOf('\n', at);
  const lineText = text.slice(lineStart, lineEnd === -1 ? text.length : lineEnd).replace(/\r$/, '');
  const line = text.slice(0, lineStart).split('\n').length;
  const column = at - lineStart + 1;
  const from = Math.max(0, column - 1 - EXCERPT_RADIUS);
  const cut = lineText.slice(from, column - 1 + EXCERPT_RADIUS).replace(/\t/g, ' ');
  const shownLine = `${from > 0 ? '…' : ''}${cut}${column - 1 + EXCERPT_RADIUS < lineText.length ? '…' : ''}`;
  const caret = `${' '.repeat(column - 1 - from + (from > 0 ? 1 : 0))}^`;
  return { line, column, excerpt: `${shownLine}\n${caret}` };
}

/** The first syntax error of `text`, or undefined when it is valid JSON (or too deeply nested to check). */
export function findJsonSyntaxError(text: string): JsonSyntaxProblem | undefined {
  try {
    new Scanner(text).run();
    return undefined;
  } catch (err) {
    if (!(err instanceof Fault)) return undefined;
    return { ...excerptAt(text, err.at), message: err.message };
  }
}

/** `JSON.parse`, with a syntax error that says line, column and what was expected there. */
export function parseJsonText(text: string): unknown {
  // A byte-order mark some editors write is not part of the JSON.
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body);
  } catch (err) {
    const p = findJsonSyntaxError(body);
    if (!p) throw err;
    throw new SyntaxError(`line ${p.line}, column ${p.column}: ${p.message}\n${p.excerpt.replace(/^/gm, '    ')}`, {
      cause: err,
    });
  }
}
