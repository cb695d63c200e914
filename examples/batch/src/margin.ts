import type { Margin } from '@tollgate/core';

/**
 * The limiter's default margin — 10 ms of real jitter between a request leaving the process and
 * the provider counting it — on a simulator's clock that runs `timeScale` times faster than real
 * time, where the same real jitter spans `timeScale` times as many simulated ms. At
 * `TIME_SCALE=1` it is the default exactly.
 */
export const realTimeMargin = (timeScale: number): Margin => ({ ms: 10 * timeScale });
