// lib/csv.ts, the one CSV reader and writer: RFC 4180 quoting both ways, records across lines, line
// numbers for error reports, and the export rules every writer shares (non-finite numbers, formulas).
import { describe, expect, it } from 'vitest';
import { CsvLineReader, csvCell, endsInsideQuotes, guessDelimiter, parseCsv, splitCsvRecord, toCsv } from '../lib/csv.ts';

describe('reading one record', () => {
  it('splits on the delimiter outside quotes, undoubles quotes, keeps empty fields', () => {
    expect(splitCsvRecord('a,"b,c",d')).toEqual(['a', 'b,c', 'd']);
    expect(splitCsvRecord('1,"RECORD FRAME 7"" SINGLE",3')).toEqual(['1', 'RECORD FRAME 7" SINGLE', '3']);
    expect(splitCsvRecord(',,')).toEqual(['', '', '']);
    expect(splitCsvRecord('""')).toEqual(['']);
    expect(splitCsvRecord('x;"y;z"', ';')).toEqual(['x', 'y;z']);
    expect(splitCsvRecord('x\t"y\tz"', '\t')).toEqual(['x', 'y\tz']);
  });

  it('runs a quoted field that is never closed to the end of the text', () => {
    expect(splitCsvRecord('a,"b,c')).toEqual(['a', 'b,c']);
    expect(endsInsideQuotes('a,"b,c')).toBe(true);
    expect(endsInsideQuotes('a,"b "" c"')).toBe(false);
    expect(endsInsideQuotes('a,b')).toBe(false);
  });

  it('guesses comma, semicolon or tab from a header line', () => {
    expect(guessDelimiter('a,b,c')).toBe(',');
    expect(guessDelimiter('order;client;placed_at;total')).toBe(';');
    expect(guessDelimiter('user\titem\tts')).toBe('\t');
    expect(guessDelimiter('single')).toBe(',');
  });
});

describe('reading line by line (streamed files)', () => {
  it('holds lines back while a quoted field is open, and joins them with a line break', () => {
    const r = new CsvLineReader();
    expect(r.push('1,"first')).toBeNull();
    expect(r.push('second "" still')).toBeNull();
    expect(r.push('third",9')).toEqual(['1', 'first\nsecond " still\nthird', '9']);
    expect(r.push('2,plain,3')).toEqual(['2', 'plain', '3']);
    expect(r.flush()).toBeNull();
  });

  it('closes a field left open at the end of the file', () => {
    const r = new CsvLineReader(';');
    expect(r.push('1;"never')).toBeNull();
    expect(r.push('closed')).toBeNull();
    expect(r.flush()).toEqual(['1', 'never\nclosed']);
    expect(r.push('2;b')).toEqual(['2', 'b']);
  });
});

describe('reading a whole text (uploads)', () => {
  it('drops a BOM, takes CRLF, LF and CR, skips blank lines and numbers records by their first line', () => {
    const text = '\ufeffid,name\r\n1,one\n\n2,"two\r\nlines"\r3,three';
    expect(parseCsv(text)).toEqual([
      { line: 1, fields: ['id', 'name'] },
      { line: 2, fields: ['1', 'one'] },
      { line: 4, fields: ['2', 'two\r\nlines'] },
      { line: 6, fields: ['3', 'three'] },
    ]);
  });

  it('keeps a record of empty quotes, and closes a quote left open at the end', () => {
    expect(parseCsv('a\n""\n')).toEqual([
      { line: 1, fields: ['a'] },
      { line: 2, fields: [''] },
    ]);
    expect(parseCsv('a,"b\n\nc')).toEqual([{ line: 1, fields: ['a', 'b\n\nc'] }]);
    expect(parseCsv('')).toEqual([]);
  });

  it('reads back what the writer wrote', () => {
    const rows = [{ a: 'x,y', b: 'say "hi"\r\nbye', c: 3 }, { a: '', b: null, c: -1.5 }];
    const back = parseCsv(toCsv(['a', 'b', 'c'], rows)).map((r) => r.fields);
    expect(back).toEqual([['a', 'b', 'c'], ['x,y', 'say "hi"\r\nbye', '3'], ['', '', '-1.5']]);
  });
});

describe('writing', () => {
  it('leaves non-finite numbers empty, as it does null and undefined', () => {
    expect([NaN, Infinity, -Infinity, null, undefined].map(csvCell)).toEqual(['', '', '', '', '']);
    expect([0, -0.25, 1e21, 12345678901234567890n, true, false].map(csvCell)).toEqual(['0', '-0.25', '1e+21', '12345678901234567890', 'true', 'false']);
  });

  it('defuses every text that a spreadsheet would run: = + - @ tab or CR first', () => {
    expect(csvCell('=1+1')).toBe("'=1+1");
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-1')).toBe("'-1");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\t=cmd')).toBe("'\t=cmd");
    expect(csvCell('\r=cmd')).toBe("\"'\r=cmd\"");
    expect(csvCell('=HYPERLINK("http://evil")')).toBe('"\'=HYPERLINK(""http://evil"")"');
    // Only at the start, and numbers are numbers (a negative amount stays a number).
    expect(csvCell('a=b')).toBe('a=b');
    expect(csvCell(-5)).toBe('-5');
    expect(csvCell(-5n)).toBe('-5');
  });

  it('writes objects as JSON, quoted where needed', () => {
    expect(csvCell(['p1', 'p2'])).toBe('"[""p1"",""p2""]"');
    expect(csvCell({ k: 'v' })).toBe('"{""k"":""v""}"');
  });

  it('writes a header and CRLF-terminated lines, columns in the order given', () => {
    expect(toCsv(['b', 'a'], [{ a: 1, b: 'x' }, { a: NaN }])).toBe('b,a\r\nx,1\r\n,\r\n');
    expect(toCsv(['only'], [])).toBe('only\r\n');
  });
});
