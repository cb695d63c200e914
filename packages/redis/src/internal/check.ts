import { InvalidArgumentError, type StorePlan } from '@tollgate/core';
import { checkBoolean, checkName, checkNumber, checkOneOf, mustBe } from '@tollgate/core/validate';

/** Plans already checked: the limiter sends the same plan object on every call. */
const checkedPlans = new WeakSet<object>();

/**
 * A {@link StorePlan} as the scripts need it: an `id`, and at least one window of a known unit
 * with a finite limit and length > 0 — not a `TypeError` from packing it, nor a window Redis
 * would read as "no limit".
 */
export function checkPlan(plan: unknown): StorePlan {
  if (typeof plan === 'object' && plan !== null && checkedPlans.has(plan)) {
    return plan as StorePlan;
  }
  const { id, windows } = (plan ?? {}) as Partial<StorePlan>;
  if (
    typeof plan !== 'object' ||
    plan === null ||
    !Array.isArray(windows) ||
    windows.length === 0
  ) {
    throw new InvalidArgumentError(mustBe('a StorePlan ({ id, windows: [...] })', plan), 'plan');
  }
  checkName(id, 'plan.id', InvalidArgumentError);
  windows.forEach((window: unknown, index) => {
    const path = `plan.windows[${index}]`;
    const { name, unit, limit, windowMs, paced } = (window ?? {}) as Record<string, unknown>;
    checkName(name, `${path}.name`, InvalidArgumentError);
    checkOneOf(unit, `${path}.unit`, ['requests', 'tokens'], InvalidArgumentError);
    checkNumber(limit, `${path}.limit`, { above: 0 }, InvalidArgumentError);
    checkNumber(windowMs, `${path}.windowMs`, { above: 0 }, InvalidArgumentError);
    checkBoolean(paced, `${path}.paced`, InvalidArgumentError);
  });
  checkedPlans.add(plan);
  return plan as StorePlan;
}
