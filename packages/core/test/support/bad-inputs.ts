/**
 * The packages' README "Bad input" tables, walked by their tests: each row is run and must get
 * what it says, and the README's table must equal the rows cell for cell, so that the table and
 * the behaviour cannot drift apart. Repository test support, imported by relative path from the
 * packages' tests; never published (no package's `exports` reaches it).
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

/** The cells of each row of the first table under `## <heading>`; its header and rule left out. */
export function readmeTable(readme: URL, heading = 'Bad input'): string[][] {
  const text = readFileSync(readme, 'utf8');
  const section = text.split(/^## /m).find((part) => part.startsWith(`${heading}\n`));
  if (section === undefined) throw new Error(`${readme.pathname} has no "## ${heading}" section`);
  return section
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2)
    .map((line) =>
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim().replaceAll('\\|', '|')),
    );
}

/** An error class of the Tollgate family (anything with a stable `code`). */
export type ErrorClass = abstract new (...args: never[]) => Error & { readonly code: string };

interface RowBase<P> {
  /** The entry point, as the README's first column shows it. */
  readonly entry: string;
  /** The bad input, in words. */
  readonly input: string;
  /** Run first, when the input needs something to act on (a permit, a store): not part of the row. */
  readonly prepare?: () => Promise<P>;
  /** Provokes it. An `error event` row resolves to the event's error. */
  readonly act: (prepared: P) => unknown;
  /** Skips the run (not the README check), e.g. where no Redis server is at hand. */
  readonly skipIf?: boolean;
}

/** A bad input that gets an error: thrown, as the returned promise's rejection, or as an event. */
export interface ErrorRow<P> extends RowBase<P> {
  readonly via: 'throws' | 'rejects' | 'error event';
  /** The error's class; `undefined`: the failure of the user's own function, as it is. */
  readonly error: ErrorClass | undefined;
  /** What its message begins with: the option or argument at fault. */
  readonly message: string;
}

/** A bad input that is ignored by design (a malformed provider header): `act` returns `returns`. */
export interface IgnoredRow<P> extends RowBase<P> {
  readonly via: 'ignored';
  readonly returns: unknown;
}

export type BadInputRow<P = undefined> = ErrorRow<P> | IgnoredRow<P>;

/** What happened: how the error arrived and the error, or what the call returned. */
async function outcomeOf<P>(row: BadInputRow<P>): Promise<{ via: string; value: unknown }> {
  const prepared = (await row.prepare?.()) as P;
  let result: unknown;
  try {
    result = row.act(prepared);
  } catch (error) {
    return { via: 'throws', value: error };
  }
  if (row.via === 'error event') return { via: 'error event', value: await result };
  if (row.via === 'ignored') return { via: 'ignored', value: result };
  try {
    await result;
  } catch (error) {
    return { via: 'rejects', value: error };
  }
  return { via: 'nothing', value: result };
}

const HEADER = ['entry point', 'bad input', 'how', 'error', 'code', 'message begins'];

/** The README cells of a row. */
function cellsOf<P>(row: BadInputRow<P>, codes: ReadonlyMap<ErrorClass, string>): string[] {
  if (row.via === 'ignored') {
    return [row.entry, row.input, row.via, '—', '—', `returns \`${String(row.returns)}\``];
  }
  return [
    row.entry,
    row.input,
    row.via,
    row.error === undefined ? 'its own' : `\`${row.error.name}\``,
    row.error === undefined ? '—' : `\`${codes.get(row.error)}\``,
    `\`${row.message}\``,
  ];
}

/**
 * Registers one test per row (it gets what the row says, its `code` included) and one that the
 * README's "Bad input" table is the rows. Run with `PRINT_BAD_INPUTS=1` to print the table.
 */
export function walkBadInputs<P>(
  rows: ReadonlyArray<BadInputRow<P>>,
  { readme, codes }: { readonly readme: URL; readonly codes: ReadonlyMap<ErrorClass, string> },
): void {
  it.for(rows)('$entry: $input', async (row, { skip }) => {
    if (row.skipIf === true) skip();
    const { via, value } = await outcomeOf(row);
    expect(via).toBe(row.via);
    if (row.via === 'ignored') {
      expect(value).toEqual(row.returns);
      return;
    }
    expect(value).toBeInstanceOf(row.error ?? Error);
    const { message, code } = value as Error & { code?: unknown };
    expect(message.startsWith(row.message), message).toBe(true);
    if (row.error !== undefined) expect(code).toBe(codes.get(row.error));
  });

  it("the README's bad-input table is these rows", () => {
    const expected = rows.map((row) => cellsOf(row, codes));
    if (process.env.PRINT_BAD_INPUTS === '1') console.log(markdownTable(expected));
    expect(readmeTable(readme)).toEqual(expected);
  });
}

/** The rows as an aligned Markdown table, for the README. */
function markdownTable(rows: ReadonlyArray<ReadonlyArray<string>>): string {
  const escaped = [HEADER, ...rows].map((row) => row.map((cell) => cell.replaceAll('|', '\\|')));
  const widths = HEADER.map((_, column) =>
    Math.max(...escaped.map((row) => [...row[column]!].length)),
  );
  const line = (row: ReadonlyArray<string>) =>
    `| ${row.map((cell, column) => cell + ' '.repeat(widths[column]! - [...cell].length)).join(' | ')} |`;
  return [
    line(escaped[0]!),
    `| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`,
    ...escaped.slice(1).map(line),
  ].join('\n');
}
