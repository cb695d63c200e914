import { TollgateError } from '@tollgate/core';
import type { AccountState } from './pool.js';

declare module '@tollgate/core' {
  interface TollgateErrors {
    TOLLGATE_ALL_ACCOUNTS_UNAVAILABLE: AllAccountsUnavailableError;
  }
}

/**
 * No account of the pool can take the request: each one is out (quota exhausted, key
 * rejected), or held longer than the caller's `maxWaitMs`, or was already tried by this call.
 * `accounts` says, for each one, what it is and when it returns; `cause` is the last attempt's
 * error when an attempt was made. Match on it with core's
 * `isTollgateError(error, 'TOLLGATE_ALL_ACCOUNTS_UNAVAILABLE')`.
 */
export class AllAccountsUnavailableError extends TollgateError {
  readonly code = 'TOLLGATE_ALL_ACCOUNTS_UNAVAILABLE';
  /** The soonest any account returns, in milliseconds from the error. */
  readonly returnsInMs: number;

  constructor(
    /** The model the request was for. */
    readonly model: string,
    /** Every account of the pool with a quota for the model, in pool order. */
    readonly accounts: ReadonlyArray<AccountState>,
    /** The wait the caller allowed. */
    readonly maxWaitMs: number,
    options?: { cause?: unknown },
  ) {
    const states = accounts.map(describe).join('; ');
    super(
      `no account can take a '${model}' request within maxWaitMs=${maxWaitMs}: ${states}`,
      options,
    );
    this.returnsInMs = Math.min(...accounts.map((account) => account.returnsInMs));
  }
}

function describe(account: AccountState): string {
  const reason = account.reason === undefined ? '' : ` (${account.reason.kind})`;
  if (account.status === 'available') return `${account.id} tried`;
  return `${account.id} ${account.status}${reason} for ${Math.ceil(account.returnsInMs)} ms`;
}
