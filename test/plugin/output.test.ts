import { describe, expect, it } from 'vitest';
import { makeList, renderTable, visibleWidth, type Column } from '../../plugin/src/lib/output.js';
import { parseDuration, splitList } from '../../plugin/src/lib/flags.js';
import { problems, type StatusRow } from '../../plugin/src/report/status.js';
import { rotationWords } from '../../plugin/src/lib/rotation-words.js';
import { parseRef } from '../../plugin/src/lib/refs.js';
import { oneSentence, exitCodeOf, TimeoutError, InterruptedError, UserError } from '../../plugin/src/lib/errors.js';

describe('tables', () => {
  const cols: Column<{ a: string; b: string }>[] = [
    { header: 'name', get: (r) => r.a },
    { header: 'detail', wide: true, get: (r) => r.b },
    { header: 'state', get: (r) => r.b },
  ];
  it('aligns columns kubectl-style and hides wide columns unless asked', () => {
    const rows = [
      { a: 'x', b: 'one' },
      { a: 'longer', b: 'two\nlines' },
    ];
    expect(renderTable(rows, cols)).toBe('NAME     STATE\nx        one\nlonger   two lines\n');
    expect(renderTable(rows, cols, { wide: true, noHeaders: true })).toBe(
      'x        one         one\nlonger   two lines   two lines\n',
    );
    expect(renderTable([], cols, { noHeaders: true })).toBe('');
  });
  it('pads painted cells by their text alone, and paints only where asked', () => {
    const tone: Column<{ a: string; b: string }>[] = [
      { header: 'name', get: (r) => r.a },
      { header: 'state', tone: (r) => (r.b === 'bad' ? 'fail' : 'ok'), get: (r) => r.b },
      { header: 'x', get: () => '.' },
    ];
    const rows = [
      { a: 'x', b: 'bad' },
      { a: 'longer', b: 'good!' },
    ];
    const painted = renderTable(rows, tone, { paint: (m, t) => `\x1b[${m === 'fail' ? 31 : 32}m${t}\x1b[0m` });
    expect(painted).toBe('NAME     STATE   X\nx        \x1b[31mbad\x1b[0m     .\nlonger   \x1b[32mgood!\x1b[0m   .\n');

    expect(painted.replace(/\x1b\[[0-9;]*m/g, '')).toBe(renderTable(rows, tone));
    expect(visibleWidth('\x1b[31mbad\x1b[0m')).toBe(3);
    // a cell's own escape characters are data, never passed through
    expect(renderTable([{ a: '\x1b[2Jx', b: 'ok' }], tone)).toBe('NAME    STATE   X\n [2Jx   ok      .\n');
  });
  it('cuts the shrinkable column so that lines fit maxWidth, never below its header', () => {
    const c: Column<{ a: string; e: string }>[] = [
      { header: 'name', get: (r) => r.a },
      { header: 'error', shrink: true, get: (r) => r.e },
    ];
    const rows = [{ a: 'x', e: 'a long error message' }];
    expect(renderTable(rows, c, { maxWidth: 15 })).toBe('NAME   ERROR\nx      a long …\n');
    expect(renderTable(rows, c, { maxWidth: 100 })).toBe('NAME   ERROR\nx      a long error message\n');
    expect(renderTable(rows, c, { maxWidth: 3 })).toBe('NAME   ERROR\nx      a lo…\n');
  });
  it('names a rotation state once', () => {
    expect(rotationWords('VERIFYING', 'VERIFYING', 'PROPAGATING_NEW_INTERMEDIATE')).toBe(
      'VERIFYING (after PROPAGATING_NEW_INTERMEDIATE)',
    );
    expect(rotationWords('FINISHED', 'FINISHED')).toBe('FINISHED');
    expect(rotationWords('ROTATING', 'ADDING_NEW_ROOT', 'ADDING_NEW_ROOT')).toBe('ROTATING ADDING_NEW_ROOT');
    expect(rotationWords('FAILED', 'PREVIOUS_CA')).toBe('FAILED');
    expect(rotationWords('PENDING', 'NOT_ROTATING')).toBe('PENDING');
    expect(rotationWords('ROTATING', 'ROLLING_BACK')).toBe('ROTATING ROLLING_BACK');
  });
  it('wraps items in a v1 List', () => {
    expect(makeList([1])).toEqual({ apiVersion: 'v1', kind: 'List', metadata: {}, items: [1] });
  });
});

describe('flag values', () => {
  it('parses durations and names the flag when it cannot', () => {
    expect(parseDuration('90')).toBe(90_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(() => parseDuration('5 minutes')).toThrow(
      '--timeout expects a duration such as 30s, 5m or 1h, got "5 minutes"',
    );
    expect(() => parseDuration('')).toThrow('--timeout');
  });
  it('splits comma lists', () => {
    expect(splitList(' a, b,,a ')).toEqual(['a', 'b']);
  });
  it('parses NAMESPACE/NAME and validates both parts', () => {
    expect(parseRef('ns/n', { what: 'X' })).toEqual({ namespace: 'ns', name: 'n' });
    expect(parseRef('n', { what: 'X', defaultNamespace: 'd' })).toEqual({ namespace: 'd', name: 'n' });
    expect(() => parseRef('n', { what: 'SECRET' })).toThrow('SECRET must be NAMESPACE/NAME, got "n"');
    expect(() => parseRef('ns/N_', { what: 'SECRET' })).toThrow('SECRET: name "N_" is not a valid object name');
  });
});

describe('errors', () => {
  it('are one sentence with their exit codes', () => {
    expect(oneSentence(new Error('Missing 1 required arg:\nshell  the host\nSee more help with --help'))).toBe(
      'Missing 1 required arg: shell the host',
    );
    expect(exitCodeOf(new TimeoutError('x'))).toBe(124);
    expect(exitCodeOf(new InterruptedError())).toBe(130);
    expect(exitCodeOf(new UserError('x'))).toBe(1);
    expect(exitCodeOf(new Error('x'))).toBe(1);
  });
});

describe('status problems', () => {
  const row = (over: Partial<StatusRow>): StatusRow => ({
    cluster: 'c',
    kind: 'IssuedCertificate',
    apiVersion: 'v',
    namespace: 'ns',
    name: 'n',
    state: 'FINISHED',
    generationLag: false,
    ...over,
  });
  it('flags FAILED, expiring and unreachable, and nothing else', () => {
    expect(problems([row({}), row({ daysLeft: 31 })], 30)).toEqual([]);
    expect(problems([row({ state: 'FAILED', error: 'boom' })], 30)).toEqual([
      'IssuedCertificate ns/n on cluster c is FAILED: boom',
    ]);
    expect(problems([row({ daysLeft: 29, notAfter: 'T' })], 30)).toEqual([
      'IssuedCertificate ns/n on cluster c: certificate expires in 29 days (T), within --warn-days 30',
    ]);
    expect(problems([row({ daysLeft: -1, notAfter: 'T' })], 30)).toEqual([
      'IssuedCertificate ns/n on cluster c: certificate expired on T',
    ]);
    expect(
      problems([row({ kind: 'Cluster', state: 'UNREACHABLE', error: 'cluster "c" is unreachable: x' })], 30),
    ).toEqual(['cluster "c" is unreachable: x']);
  });
});

// issue 19: -o jsonpath / custom-columns as kubectl parses them, did-you-mean, help unwrapping
import { jsonpath, parseCustomColumns, renderCustomColumns } from '../../plugin/src/lib/output.js';
import { suggest } from '../../plugin/src/lib/suggest.js';
import { unwrap, usageOf } from '../../plugin/src/lib/help.js';

describe('kubectl-style templates', () => {
  const items = [
    {
      kind: 'IssuedCertificate',
      metadata: { name: 'a', annotations: { 'mesh-cert.solo.io/cluster': 'c1' } },
      status: { state: 'FINISHED' },
    },
    { kind: 'IssuedCertificate', metadata: { name: 'b', annotations: { 'mesh-cert.solo.io/cluster': 'c2' } } },
  ];
  const list = makeList(items);
  it('evaluates {.a.b}, [*], [N], escaped dots, {range}{end} and literals', () => {
    expect(jsonpath('{.items[*].metadata.name}', list)).toBe('a b');
    expect(jsonpath('{.items[0].status.state}', list)).toBe('FINISHED');
    expect(jsonpath('.kind', list)).toBe('List');
    expect(
      jsonpath(
        '{range .items[*]}{.metadata.annotations.mesh-cert\\.solo\\.io/cluster}{"\\t"}{.metadata.name}{"\\n"}{end}',
        list,
      ),
    ).toBe('c1\ta\nc2\tb\n');
    expect(jsonpath("{.items[1].metadata.annotations['mesh-cert.solo.io/cluster']}", list)).toBe('c2');
    expect(() => jsonpath('{range .items[*]}{.x}', list)).toThrow('{range} without {end}');
  });
  it('prints custom-columns with <none> for what is missing', () => {
    const cols = parseCustomColumns('NAME:.metadata.name,STATE:.status.state');
    expect(renderCustomColumns(items, cols)).toBe('NAME   STATE\na      FINISHED\nb      <none>\n');
    expect(() => parseCustomColumns('NAME')).toThrow('is not HEADER:.path');
  });
});

describe('did you mean, and help wrapped once', () => {
  it('suggests the closest names only', () => {
    expect(suggest('stauts', ['status', 'check', 'rotate'])).toEqual(['status']);
    expect(suggest('--contxt', ['--context', '--kubeconfig'])).toEqual(['--context']);
    expect(suggest('--bogus', ['--context', '--kubeconfig'])).toEqual([]);
  });
  it('joins hard-wrapped paragraphs and keeps blank lines', () => {
    expect(unwrap('one\ntwo\n\nthree\n  indented')).toBe('one two\n\nthree\n  indented');
  });
  it("writes usage as kubectl's: args, required flags, [flags]", () => {
    expect(
      usageOf({ id: 'root:create', args: { secret: { required: true } }, flags: { force: { type: 'boolean' } } }),
    ).toBe('root create SECRET [flags]');
    expect(
      usageOf({
        id: 'rotate',
        flags: { 'virtual-mesh': { required: true, type: 'option' }, abort: { type: 'boolean' } },
      }),
    ).toBe('rotate --virtual-mesh <value> [flags]');
  });
});
