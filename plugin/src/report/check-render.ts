// `check`'s lines as text, by category, in the style of `linkerd check`.
import { mark, type Mark } from '../lib/progress.js';
import type { CheckLine, Result } from './check-table.js';

const SYMBOL: Record<Result, Mark> = { pass: 'ok', warn: 'warn', fail: 'fail' };

export function renderChecks(lines: CheckLine[]): string {
  const out: string[] = [];
  let cat = '';
  for (const l of lines) {
    if (l.category !== cat) {
      if (cat) out.push('');
      cat = l.category;
      out.push(cat, '-'.repeat(cat.length));
    }
    out.push(`${mark(SYMBOL[l.result], process.stdout)} [${l.cluster}] ${l.message}`);
    if (l.result !== 'pass' && l.hint) out.push(`    hint: ${l.hint}`);
  }
  const fails = lines.filter((l) => l.result === 'fail').length;
  const warns = lines.filter((l) => l.result === 'warn').length;
  out.push(
    '',
    fails
      ? `Status check results are ${mark('fail', process.stdout)} (${fails} failed, ${warns} warnings)`
      : `Status check results are ${mark(warns ? 'warn' : 'ok', process.stdout)}${warns ? ` (${warns} warnings)` : ''}`,
  );
  return `${out.join('\n')}\n`;
}
