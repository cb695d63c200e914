export type {
  AccountConfig,
  AccountingMode,
  BurstGuardConfig,
  CompletionConfig,
  LatencyConfig,
  ModelConfig,
  SimulatorConfig,
  SimulatorMode,
} from './config.js';
export { isSimulatorConfigError, SimulatorConfigError } from './errors.js';
export { presets } from './presets.js';
export {
  type ChatMessageLike,
  type ClockAnchor,
  type CompletionRequestLike,
  type ResetOptions,
  type Simulator,
  type SimulatorClock,
  simulatorClock,
  startSimulator,
} from './simulator.js';
export type {
  AdmissionSample,
  RateLimitReason,
  RejectReason,
  RequestCounters,
  SimulatorStats,
  WindowName,
  WindowReport,
  WindowUnit,
} from './stats.js';
