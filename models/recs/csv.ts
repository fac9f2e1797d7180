// Minimal CSV field splitter (RFC 4180 quotes: "a,b" and "" inside quotes). Lines are read one at a
// time, so a quoted field must not span lines (true for the files cvm reads).
export function splitCsvLine(line: string, sep = ','): string[] {
  if (line.indexOf('"') === -1) return line.split(sep);
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"') {
        if (line[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"') quoted = true;
    else if (c === sep) {
      out.push(field);
      field = '';
    } else field += c;
  }
  out.push(field);
  return out;
}
