// Step results and the chain that runs steps in order: the first result that is not ok ends the run.
import { describe, expect, it } from 'vitest';
import { dlq, drop, ok, StepChain, type PipelineResult } from '../transform/pipeline-result.ts';

describe('pipeline results', () => {
  it('name their kind, and a dead letter its field (empty when none)', () => {
    expect(ok(3)).toEqual({ kind: 'ok', value: 3 });
    expect(dlq('is required', 'properties.currency')).toEqual({ kind: 'dlq', reason: 'is required', field: 'properties.currency' });
    expect(dlq('broken')).toEqual({ kind: 'dlq', reason: 'broken', field: '' });
    expect(drop('duplicate')).toEqual({ kind: 'drop', reason: 'duplicate' });
  });

  it('a chain passes each value on, and stops at the first dead letter or drop', () => {
    const calls: string[] = [];
    const parse = (s: string): PipelineResult<number> => (calls.push('parse'), /^\d+$/.test(s) ? ok(Number(s)) : dlq(`not a number: ${s}`, 'value'));
    const even = (n: number): PipelineResult<number> => (calls.push('even'), n % 2 === 0 ? ok(n) : drop('odd'));
    const label = (n: number): PipelineResult<string> => (calls.push('label'), ok(`#${n}`));
    const run = StepChain.from(parse).pipe(even).pipe(label).run;

    expect(run('42')).toEqual(ok('#42'));
    expect(calls).toEqual(['parse', 'even', 'label']);
    calls.length = 0;
    expect(run('7')).toEqual(drop('odd'));
    expect(calls).toEqual(['parse', 'even']);
    calls.length = 0;
    expect(run('x')).toEqual(dlq('not a number: x', 'value'));
    expect(calls).toEqual(['parse']);
  });
});
