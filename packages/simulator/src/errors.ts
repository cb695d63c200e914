const BRAND = Symbol.for('@tollgate/simulator/SimulatorConfigError');

/**
 * A configuration the simulator cannot run: an unknown option, a bad number, a duplicate key.
 * Thrown by `startSimulator` before anything listens. `path` names the option
 * (`models.qwen3-max.rpm`, `accounts[1].keys[0]`).
 */
export class SimulatorConfigError extends Error {
  readonly code = 'ERR_SIMULATOR_CONFIG' as const;
  readonly path: string;

  constructor(path: string, problem: string) {
    super(`Invalid simulator config: ${path} ${problem}`);
    this.name = 'SimulatorConfigError';
    this.path = path;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** True for a {@link SimulatorConfigError}, even one from another copy of this package. */
export function isSimulatorConfigError(value: unknown): value is SimulatorConfigError {
  return typeof value === 'object' && value !== null && BRAND in value;
}
