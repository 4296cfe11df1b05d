/**
 * RFC 4180 CSV, as spreadsheets write it: fields separated by commas, quoted with double quotes
 * when they hold a comma, a quote or a line break (quotes inside doubled). Lines end in CRLF or LF.
 */

export class CsvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CsvError';
  }
}

/** Every record, as arrays of fields, with the line each begins on (1-based). */
export function parseCsv(text: string, fileName = 'CSV'): Array<{ line: number; fields: string[] }> {
  const out: Array<{ line: number; fields: string[] }> = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endRecord = () => {
    fields.push(field);
    // A blank line is no record.
    if (!(fields.length === 1 && fields[0] === '')) out.push({ line: recordLine, fields });
    fields = [];
    field = '';
  };
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      if (c === '\n') line++;
      field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') {
      quoted = true;
      i++;
    } else if (c === ',') {
      fields.push(field);
      field = '';
      i++;
    } else if (c === '\r' && text[i + 1] === '\n') {
      endRecord();
      i += 2;
      recordLine = ++line;
    } else if (c === '\n') {
      endRecord();
      i++;
      recordLine = ++line;
    } else {
      field += c;
      i++;
    }
  }
  if (quoted) throw new CsvError(`${fileName}:${recordLine}: a quoted field is never closed`);
  if (field !== '' || fields.length > 0) endRecord();
  return out;
}

function quote(field: string): string {
  return /[",\r\n]/.test(field) || /^\s|\s$/.test(field) ? `"${field.replaceAll('"', '""')}"` : field;
}

/** CSV text of rows (the first usually the header), CRLF line ends as RFC 4180 says. */
export function formatCsv(rows: readonly (readonly string[])[]): string {
  return rows.map((r) => `${r.map(quote).join(',')}\r\n`).join('');
}
