import { describe, expect, it } from 'vitest';
import { AsOfError, parseAsOf } from '../models/as-of.ts';

describe('parseAsOf', () => {
  it('is the last millisecond of the day, UTC', () => {
    expect(parseAsOf('2011-12-09').toISOString()).toBe('2011-12-09T23:59:59.999Z');
    expect(parseAsOf('2024-02-29').toISOString()).toBe('2024-02-29T23:59:59.999Z');
  });

  it('refuses days the calendar does not have and other shapes, saying why', () => {
    for (const bad of ['2026-02-31', '2025-02-29', '2026-13-01', '2026-00-10', '2026-1-1', '20260101', '2026-01-01T00:00Z', '']) {
      expect(() => parseAsOf(bad), bad).toThrow(AsOfError);
    }
    expect(() => parseAsOf('2026-02-31')).toThrow(/not a day of the calendar/);
    expect(() => parseAsOf('yesterday')).toThrow(/YYYY-MM-DD/);
  });
});
