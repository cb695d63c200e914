import { CommandTimeoutError } from './timeout.js';

/** Reply errors that mean "this node cannot serve now", not "the command is wrong". */
const UNAVAILABLE_REPLIES = [
  'LOADING',
  'CLUSTERDOWN',
  'MASTERDOWN',
  'TRYAGAIN',
  'READONLY',
  'BUSY',
  'NOREPLICAS',
];

export const PLAN_CONFLICT = 'TOLLGATE_PLAN_CONFLICT';

const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

/** An error Redis answered with (the server is reachable), as opposed to a transport failure. */
const isReplyError = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ReplyError';

/**
 * Whether a failed call means Redis is unreachable (timeout, closed or refused connection,
 * a node loading or a cluster without a master for the slot) — the case the unavailability
 * policy handles — rather than a wrong command or a script error.
 */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof CommandTimeoutError) return true;
  if (!isReplyError(error)) return error instanceof Error;
  const message = messageOf(error);
  return UNAVAILABLE_REPLIES.some((prefix) => message.startsWith(prefix));
}

/** The plan id already stored under a key, when `error` is the script's plan-conflict reply. */
export function conflictingPlan(error: unknown): string | undefined {
  if (!isReplyError(error)) return undefined;
  const message = messageOf(error);
  const at = message.indexOf(PLAN_CONFLICT);
  return at === -1 ? undefined : message.slice(at + PLAN_CONFLICT.length + 1);
}
