/**
 * A small streaming CSV reader and writer (RFC 4180 quoting), shared by the manifest reader, the completion report
 * writer and the report parser. Hand-written rather than a dependency because every caller needs the physical line
 * number of each record (error messages name the line) and byte-exact control over quoting.
 */

/** One CSV record and the 1-based physical line it starts on. */
export interface CsvRecord {
  fields: string[];
  line: number;
}

/** A syntax error at a given 1-based line. */
export class CsvSyntaxError extends Error {
  constructor(
    readonly line: number,
    /** What is wrong, without the line (the message is `line <line>: <detail>`). */
    readonly detail: string,
  ) {
    super(`line ${line}: ${detail}`);
    this.name = 'CsvSyntaxError';
  }
}

/**
 * Incremental CSV parser: feed text chunks with `push`, then call `end`. Records end at `\n` or `\r\n`; a quoted
 * field (one that starts with `"`) may contain commas, line breaks and doubled quotes. A `"` inside an unquoted field
 * is kept literally, so unencoded keys such as `a"b` still parse. An empty line yields a record with one empty field
 * (callers decide whether that is an error).
 */
export class CsvParser {
  private buf = '';
  private line = 1;

  /** Adds a chunk; returns the records it completed. */
  push(chunk: string): CsvRecord[] {
    this.buf += chunk;
    return this.drain(false);
  }

  /** Flushes the last record (one without a final line break). @throws CsvSyntaxError on an unclosed quote. */
  end(): CsvRecord[] {
    const out = this.drain(true);
    this.buf = '';
    return out;
  }

  private drain(final: boolean): CsvRecord[] {
    const out: CsvRecord[] = [];
    let pos = 0;
    const text = this.buf;
    // The next quote at or after `pos`, found once and reused: searching from every line would scan the rest of a
    // quote-free buffer again and again (quadratic on a large manifest).
    let q = text.indexOf('"');
    while (pos < text.length) {
      const nl = text.indexOf('\n', pos);
      const lineEnd = nl === -1 ? text.length : nl;
      if (q !== -1 && q < pos) q = text.indexOf('"', pos);
      // Fast path: a record without quotes is one line split on commas.
      if (q === -1 || q > lineEnd) {
        if (nl === -1 && !final) break;
        let rowText = text.slice(pos, lineEnd);
        if (rowText.endsWith('\r')) rowText = rowText.slice(0, -1);
        out.push({ fields: rowText.split(','), line: this.line });
        this.line += 1;
        pos = nl === -1 ? text.length : nl + 1;
        continue;
      }
      const parsed = parseQuotedRecord(text, pos, final, this.line);
      if (!parsed) break;
      out.push({ fields: parsed.fields, line: this.line });
      this.line += parsed.lines;
      pos = parsed.next;
    }
    this.buf = text.slice(pos);
    return out;
  }
}

/**
 * Parses one record that contains at least one `"` starting at `pos`. Returns undefined when the record is not
 * complete yet (more input may follow and `final` is false).
 */
function parseQuotedRecord(
  text: string,
  pos: number,
  final: boolean,
  line: number,
): { fields: string[]; next: number; lines: number } | undefined {
  const fields: string[] = [];
  let i = pos;
  let lines = 1;
  for (;;) {
    if (text[i] === '"') {
      // Quoted field.
      let value = '';
      let j = i + 1;
      for (;;) {
        const close = text.indexOf('"', j);
        if (close === -1) {
          if (!final) return undefined;
          throw new CsvSyntaxError(line, 'unclosed quoted field');
        }
        value += text.slice(j, close);
        if (text[close + 1] === '"') {
          value += '"';
          j = close + 2;
          continue;
        }
        if (close + 1 >= text.length && !final) return undefined;
        i = close + 1;
        break;
      }
      lines += countNewlines(value);
      fields.push(value);
    } else {
      // Unquoted field: up to the next comma or line break; quotes inside are literal.
      FIELD_END.lastIndex = i;
      const end = FIELD_END.exec(text);
      const j = end ? end.index : text.length;
      if (j >= text.length && !final) return undefined;
      let value = text.slice(i, j);
      if (text[j] === '\n' && value.endsWith('\r')) value = value.slice(0, -1);
      fields.push(value);
      i = j;
    }
    const c = text[i];
    if (c === ',') {
      i += 1;
      if (i >= text.length && !final) return undefined;
      if (i >= text.length) {
        fields.push('');
        return { fields, next: i, lines };
      }
      continue;
    }
    if (c === '\r' && text[i + 1] === '\n') return { fields, next: i + 2, lines };
    if (c === '\r' && i + 1 >= text.length) {
      if (!final) return undefined;
      return { fields, next: i + 1, lines };
    }
    if (c === '\n') return { fields, next: i + 1, lines };
    if (c === undefined) return { fields, next: i, lines };
    throw new CsvSyntaxError(line, `unexpected character ${JSON.stringify(c)} after a closing quote`);
  }
}

/** The end of an unquoted field; a global regex so that the native search starts at `lastIndex`. */
const FIELD_END = /[,\n]/g;

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

/** Parses a whole CSV text. */
export function parseCsv(text: string): CsvRecord[] {
  const p = new CsvParser();
  return [...p.push(text), ...p.end()];
}

const NEEDS_QUOTES = /[",\r\n]/;

/** One field, quoted (with `"` doubled) only when it contains a comma, a quote or a line break. */
export function csvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One record with its trailing `\n`. */
export function csvRow(fields: readonly string[]): string {
  return fields.map(csvField).join(',') + '\n';
}
