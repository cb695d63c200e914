import type { AccountDefinition } from '@tollgate/rotation';
import type { AccountConfig } from '@tollgate/simulator';

/**
 * A pool's accounts for a simulator's: one per key, in the billing group of the simulator
 * account that holds it, every one with the same quotas.
 */
export function poolAccounts(
  simulated: ReadonlyArray<Pick<AccountConfig, 'id' | 'keys'>>,
  baseURL: string,
  quotas: AccountDefinition['quotas'],
): AccountDefinition[] {
  return simulated.flatMap(({ id, keys }) =>
    keys.map(
      (key): AccountDefinition => ({ id: key, apiKey: key, baseURL, billingGroup: id, quotas }),
    ),
  );
}
