import type { Candidate, Chooser, PooledAccount } from '../pool.js';

/** The candidates not held; when every one is held, only the earliest to return. */
function unheld(candidates: ReadonlyArray<Candidate>): ReadonlyArray<Candidate> {
  const free = candidates.filter((candidate) => candidate.heldForMs === 0);
  if (free.length > 0) return free;
  const earliest = Math.min(...candidates.map((candidate) => candidate.heldForMs));
  return candidates.filter((candidate) => candidate.heldForMs === earliest).slice(0, 1);
}

/** Soonest first: not held (else the earliest back), fitting now, most headroom; stable. */
export const mostHeadroom: Chooser = (candidates) => {
  let best = candidates[0]!;
  for (const candidate of candidates.slice(1)) {
    if (sooner(candidate, best)) best = candidate;
  }
  return best.account;
};

function sooner(a: Candidate, b: Candidate): boolean {
  if (a.heldForMs !== b.heldForMs) return a.heldForMs < b.heldForMs;
  const aFits = a.headroom >= 0;
  if (aFits !== b.headroom >= 0) return aFits;
  return a.headroom > b.headroom;
}

/** The next account in pool order after the last one picked, among those not held. */
export function roundRobin(order: ReadonlyArray<PooledAccount>): Chooser {
  let next = 0;
  const distance = (account: PooledAccount) =>
    (order.indexOf(account) - next + order.length) % order.length;
  return (candidates) => {
    const chosen = unheld(candidates)
      .map((candidate) => candidate.account)
      .reduce((best, account) => (distance(account) < distance(best) ? account : best));
    next = order.indexOf(chosen) + 1;
    return chosen;
  };
}

/**
 * Smooth weighted round-robin (nginx's): each pick adds every choosable account's weight to
 * its credit, takes the one with the most credit and charges it the choosable total. Over any
 * run each account gets its share, evenly interleaved; deterministic.
 */
export function weighted(): Chooser {
  const credit = new Map<PooledAccount, number>();
  return (candidates) => {
    const choosable = unheld(candidates).map((candidate) => candidate.account);
    let total = 0;
    let best = choosable[0]!;
    for (const account of choosable) {
      const value = (credit.get(account) ?? 0) + account.weight;
      credit.set(account, value);
      total += account.weight;
      if (value > (credit.get(best) ?? 0)) best = account;
    }
    credit.set(best, (credit.get(best) ?? 0) - total);
    return best;
  };
}
