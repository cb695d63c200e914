import { TollgateError } from '@tollgate/core';
import type { ModelSkip } from './events.js';

declare module '@tollgate/core' {
  interface TollgateErrors {
    TOLLGATE_MODELS_UNAVAILABLE: ModelsUnavailableError;
  }
}

/**
 * No model of the chain could serve the request: each one it could go to gave up on it (its
 * `maxWaitMs`), refused it for a reason in `fallbackOn`, or has no larger `contextWindow` than one
 * that found the request too long. `models` says, for each model considered, in chain order,
 * why it did not serve; `cause` is the last attempt's error when an attempt was made. Match on
 * it with core's `isTollgateError(error, 'TOLLGATE_MODELS_UNAVAILABLE')`.
 */
export class ModelsUnavailableError extends TollgateError {
  readonly code = 'TOLLGATE_MODELS_UNAVAILABLE';

  constructor(
    /** Each model considered for the request and why it did not serve it. */
    readonly models: ReadonlyArray<{ readonly model: string; readonly reason: ModelSkip }>,
    options?: { cause?: unknown },
  ) {
    super(`no model can take the request: ${models.map(describe).join('; ')}`, options);
  }
}

function describe({ model, reason }: { model: string; reason: ModelSkip }): string {
  switch (reason.kind) {
    case 'spilled':
      return `${model} not admitted within ${reason.afterMs} ms`;
    case 'over-budget':
      return reason.expectedWaitMs === undefined
        ? `${model} not admitted within ${reason.maxWaitMs} ms`
        : `${model} needs ${Math.ceil(reason.expectedWaitMs)} ms > ${reason.maxWaitMs} ms`;
    case 'too-large':
      return `${model} never holds ${reason.requested} in ${reason.window} (limit ${reason.limit})`;
    case 'no-account':
      return `${model} has no account that can take it`;
    case 'refused':
      return `${model} refused (${reason.classification.kind})`;
    case 'context-window':
      return `${model} has no larger context window`;
  }
}
