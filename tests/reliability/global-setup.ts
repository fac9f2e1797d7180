// Clears the rows of an earlier run, and after the suite writes and prints the reliability report.
import fs from 'node:fs';
import path from 'node:path';
import { REPORT, ROWS_DIR, renderReport, type FaultRow } from './helpers/report.ts';

export default function setup(): () => void {
  fs.rmSync(ROWS_DIR, { recursive: true, force: true });
  return () => {
    const files = fs.existsSync(ROWS_DIR) ? fs.readdirSync(ROWS_DIR).filter((f) => f.endsWith('.json')) : [];
    const rows = files.map((f) => JSON.parse(fs.readFileSync(path.join(ROWS_DIR, f), 'utf8')) as FaultRow);
    const text = renderReport(rows);
    fs.mkdirSync(path.dirname(REPORT), { recursive: true });
    fs.writeFileSync(REPORT, text);
    process.stdout.write(`\n${text}\nreliability report written to ${path.relative(process.cwd(), REPORT)}\n`);
  };
}
