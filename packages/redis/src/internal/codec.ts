import type { StorePlan } from '@tollgate/core';

/**
 * The scripts' wire format: little-endian IEEE doubles, packed (see `scripts.ts`). Exact for
 * every number, including the infinities; NaN stands for "absent".
 */
export function packDoubles(values: ReadonlyArray<number>): Buffer {
  const buffer = Buffer.allocUnsafe(8 * values.length);
  for (let i = 0; i < values.length; i++) buffer.writeDoubleLE(values[i]!, 8 * i);
  return buffer;
}

/** The doubles in a packed reply, or undefined when it is not one. */
export function unpackDoubles(reply: unknown): Float64Array | undefined {
  if (!Buffer.isBuffer(reply) || reply.length % 8 !== 0) return undefined;
  const values = new Float64Array(reply.length / 8);
  for (let i = 0; i < values.length; i++) values[i] = reply.readDoubleLE(8 * i);
  return values;
}

const packedPlans = new WeakMap<StorePlan, Buffer>();

/** The plan as the scripts read it: per window limit, windowMs, flags (1 = tokens, +2 = paced). */
export function packPlan(plan: StorePlan): Buffer {
  let packed = packedPlans.get(plan);
  if (packed === undefined) {
    packed = packDoubles(
      plan.windows.flatMap((window) => [
        window.limit,
        window.windowMs,
        (window.unit === 'tokens' ? 1 : 0) + (window.paced ? 2 : 0),
      ]),
    );
    packedPlans.set(plan, packed);
  }
  return packed;
}

/** Turns the script's blocking code (1 pause, 2k window k, 2k + 1 its pace) into core's names. */
export function blockedByName(code: number, plan: StorePlan): string | undefined {
  if (code === 0) return undefined;
  if (code === 1) return 'pause';
  const window = plan.windows[Math.floor(code / 2) - 1];
  if (window === undefined) return `window #${Math.floor(code / 2)}`;
  return code % 2 === 1 ? `pace:${window.name}` : window.name;
}

/**
 * The plan a process enforces on its own while Redis is unreachable: every limit times
 * `share` (request limits floored, at least 1), under an id of its own.
 */
export function scalePlan(plan: StorePlan, share: number): StorePlan {
  return {
    id: `${plan.id}*${share}`,
    windows: plan.windows.map((window) => {
      const limit = window.limit * share;
      return {
        ...window,
        limit: window.unit === 'requests' ? Math.max(1, Math.floor(limit)) : limit,
      };
    }),
  };
}

/** 32-bit FNV-1a in hex: names a script version, so two versions never share a command name. */
export function shortHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, '0');
}
