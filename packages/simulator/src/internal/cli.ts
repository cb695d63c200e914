import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { AccountingMode, SimulatorConfig, SimulatorMode } from '../config.js';
import { isSimulatorConfigError } from '../errors.js';
import { presets } from '../presets.js';
import { type Simulator, startSimulator } from '../simulator.js';
import { resolveConfig } from './resolve-config.js';
import type { WindowSpec } from './sliding-window.js';
import { TEST_CERTIFICATE } from './test-certificate.js';

export const HELP = `Usage: tollgate-sim [options]

An OpenAI-compatible server that enforces provider-style quotas (RPM, TPM, RPS, TPS, burst
guard) and answers with DashScope- or OpenAI-exact errors.

Options:
  --port <n>          port to listen on; 0 picks a free one        (default 8787)
  --host <host>       address to bind                              (default 127.0.0.1)
  --config <file>     a JSON file with a SimulatorConfig (models, accounts, ...)
  --preset <name>     qwen3-max | openai-tier1                     (default qwen3-max)
  --time-scale <n>    simulated ms per real ms; 20 makes a minute last 3 s  (default 1)
  --mode <mode>       dashscope | openai                           (default dashscope)
  --accounting <m>    reserved | actual                            (default reserved)
  --handshake-delay-ms <n>
                      serve HTTPS; each new connection's TLS handshake takes n
                      simulated ms, as a remote provider's does     (default 0: HTTP)
  --print-ca          print the bundled test certificate (PEM) that an HTTPS
                      simulator's clients must trust, and exit
  -h, --help          show this help

Flags override the config file, which overrides the preset.
Endpoints: POST /v1/chat/completions, GET /v1/models (also under /compatible-mode/v1),
GET /stats. Stop with Ctrl+C.`;

const PRESETS: Readonly<Record<string, SimulatorConfig>> = {
  'qwen3-max': presets.qwen3Max,
  'openai-tier1': presets.openaiTier1,
};

export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly readFile: (path: string) => string;
}

export const processIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  readFile: (path) => readFileSync(path, 'utf8'),
};

/** The CLI's outcome: a running simulator, or an exit code. */
export type CliResult =
  | { readonly simulator: Simulator; readonly exitCode?: undefined }
  | { readonly simulator?: undefined; readonly exitCode: number };

/** Parses the arguments, starts the simulator and prints where it listens. */
export async function runCli(
  argv: ReadonlyArray<string>,
  io: CliIo = processIo,
): Promise<CliResult> {
  let config: SimulatorConfig;
  try {
    const parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        config: { type: 'string' },
        preset: { type: 'string' },
        'time-scale': { type: 'string' },
        mode: { type: 'string' },
        accounting: { type: 'string' },
        'handshake-delay-ms': { type: 'string' },
        'print-ca': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    const flags = parsed.values;
    if (flags.help === true) {
      io.out(HELP);
      return { exitCode: 0 };
    }
    if (flags['print-ca'] === true) {
      io.out(TEST_CERTIFICATE.trimEnd());
      return { exitCode: 0 };
    }
    const preset = PRESETS[flags.preset ?? 'qwen3-max'];
    if (preset === undefined) {
      throw new UsageError(`--preset must be one of ${Object.keys(PRESETS).join(', ')}`);
    }
    const fromFile = flags.config === undefined ? {} : readConfigFile(flags.config, io);
    config = {
      port: 8787,
      ...preset,
      ...fromFile,
      ...(flags.port === undefined ? {} : { port: numberFlag('--port', flags.port) }),
      ...(flags.host === undefined ? {} : { host: flags.host }),
      ...(flags['time-scale'] === undefined
        ? {}
        : { timeScale: numberFlag('--time-scale', flags['time-scale']) }),
      ...(flags.mode === undefined ? {} : { mode: flags.mode as SimulatorMode }),
      ...(flags.accounting === undefined ? {} : { accounting: flags.accounting as AccountingMode }),
      ...(flags['handshake-delay-ms'] === undefined
        ? {}
        : {
            handshakeDelayMs: numberFlag('--handshake-delay-ms', flags['handshake-delay-ms']),
          }),
    };
  } catch (error) {
    io.err(`tollgate-sim: ${error instanceof Error ? error.message : String(error)}`);
    io.err('Run tollgate-sim --help for the options.');
    return { exitCode: 2 };
  }

  let simulator: Simulator;
  try {
    simulator = await startSimulator(config);
  } catch (error) {
    io.err(`tollgate-sim: ${error instanceof Error ? error.message : String(error)}`);
    return { exitCode: isSimulatorConfigError(error) ? 2 : 1 };
  }

  const resolved = resolveConfig(config);
  const origin = simulator.url.replace(/\/v1$/, '');
  io.out(
    `Tollgate simulator listening on ${simulator.url} (${simulator.mode} mode, ${resolved.accounting} accounting, time x${resolved.timeScale})`,
  );
  io.out(`  also at   ${origin}/compatible-mode/v1`);
  io.out(`  API key   ${simulator.apiKey} (account ${resolved.accounts[0]?.id ?? '?'})`);
  for (const model of resolved.models.values()) {
    io.out(`  model     ${model.id}: ${describeWindows(model.windows)}`);
  }
  io.out(`  stats     ${origin}/stats`);
  if (simulator.ca !== undefined) {
    io.out(
      `  TLS       each new connection's handshake takes ${resolved.handshakeDelayMs} ms (simulated); trust the test certificate:`,
    );
    io.out(
      '            tollgate-sim --print-ca > sim-ca.pem; NODE_EXTRA_CA_CERTS=sim-ca.pem node …',
    );
  }
  io.out('Press Ctrl+C to stop.');
  return { simulator };
}

class UsageError extends Error {}

function numberFlag(flag: string, value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number)) {
    throw new UsageError(`${flag} needs a number, got "${value}"`);
  }
  return number;
}

function readConfigFile(path: string, io: CliIo): SimulatorConfig {
  let text: string;
  try {
    text = io.readFile(path);
  } catch (error) {
    throw new UsageError(`cannot read --config ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as SimulatorConfig;
  } catch (error) {
    throw new UsageError(`--config ${path} is not valid JSON: ${(error as Error).message}`);
  }
}

function describeWindows(windows: ReadonlyArray<WindowSpec>): string {
  if (windows.length === 0) return 'no limits';
  const format = (n: number) => Math.floor(n).toLocaleString('en');
  return windows
    .map((window) => {
      if (window.name === 'burst') return `burst ${window.limit}/${window.windowMs}ms`;
      const standard = window.windowMs === (window.name.endsWith('m') ? 60_000 : 1000);
      return standard
        ? `${format(window.limit)} ${window.name.toUpperCase()}`
        : `${format(window.limit)} ${window.unit}/${window.windowMs}ms`;
    })
    .join(', ');
}
