import { describe, expect, it } from 'vitest';
import { type CliIo, HELP, runCli } from '../src/internal/cli.js';

function io(files: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const cli: CliIo = {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    readFile: (path) => {
      const text = files[path];
      if (text === undefined) throw new Error(`ENOENT: no such file, open '${path}'`);
      return text;
    },
  };
  return { cli, out, err };
}

describe('tollgate-sim', () => {
  it('prints the help', async () => {
    const { cli, out } = io();
    expect(await runCli(['--help'], cli)).toEqual({ exitCode: 0 });
    expect(out).toEqual([HELP]);
    expect(HELP).toMatch(/--time-scale <n>/);
  });

  it('starts from flags, prints the URL and a demo key, and closes', async () => {
    const { cli, out } = io();
    const result = await runCli(['--port', '0', '--time-scale', '10', '--mode', 'openai'], cli);
    const simulator = result.simulator;
    if (simulator === undefined) throw new Error(`exit ${result.exitCode}`);
    try {
      expect(simulator.mode).toBe('openai');
      expect(simulator.clock.timeScale).toBe(10);
      expect(out[0]).toBe(
        `Tollgate simulator listening on ${simulator.url} (openai mode, reserved accounting, time x10)`,
      );
      expect(out).toContain(`  API key   sk-tollgate-demo (account demo)`);
      expect(out).toContain(
        '  model     qwen3-max: 600 RPM, 10 RPS, burst 4/250ms, 1,000,000 TPM, 16,667 TPS',
      );
      const response = await fetch(`${simulator.url}/models`, {
        headers: { authorization: `Bearer ${simulator.apiKey}` },
      });
      expect(response.status).toBe(200);
    } finally {
      await simulator.close();
    }
  });

  it('reads a JSON config file, which flags override', async () => {
    const config = {
      port: 0,
      models: { 'tiny-model': { rpm: 30, tpm: 3000 } },
      accounts: [{ id: 'team', keys: ['sk-team'] }],
      timeScale: 5,
    };
    const { cli, out } = io({ 'sim.json': JSON.stringify(config) });
    const result = await runCli(
      ['--config', 'sim.json', '--preset', 'openai-tier1', '--time-scale', '50'],
      cli,
    );
    const simulator = result.simulator;
    if (simulator === undefined) throw new Error(`exit ${result.exitCode}`);
    try {
      expect(simulator.apiKey).toBe('sk-team');
      expect(simulator.mode).toBe('openai');
      expect(simulator.clock.timeScale).toBe(50);
      expect(out).toContain(
        '  model     tiny-model: 30 RPM, 1 requests/2000ms, burst 2/250ms, 3,000 TPM, 50 TPS',
      );
    } finally {
      await simulator.close();
    }
  });

  it('serves HTTPS behind a handshake delay, and prints the certificate to trust', async () => {
    const { cli, out } = io();
    const result = await runCli(['--port', '0', '--handshake-delay-ms', '150'], cli);
    const simulator = result.simulator;
    if (simulator === undefined) throw new Error(`exit ${result.exitCode}`);
    try {
      expect(simulator.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/v1$/);
      expect(out).toContain(
        "  TLS       each new connection's handshake takes 150 ms (simulated); trust the test certificate:",
      );
    } finally {
      await simulator.close();
    }
    const printed = io();
    expect(await runCli(['--print-ca'], printed.cli)).toEqual({ exitCode: 0 });
    expect(printed.out).toEqual([simulator.ca?.trimEnd()]);
    expect(printed.out[0]).toMatch(
      /^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----$/,
    );
  });

  it.each([
    [['--prot', '1'], /Unknown option '--prot'/],
    [['--port', 'abc'], /--port needs a number, got "abc"/],
    [['--preset', 'gpt-9'], /--preset must be one of qwen3-max, openai-tier1/],
    [['--config', 'missing.json'], /cannot read --config missing.json/],
    [['--config', 'broken.json'], /--config broken.json is not valid JSON/],
    [['--mode', 'azure', '--port', '0'], /Invalid simulator config: mode must be one of/],
    [['--time-scale=0', '--port', '0'], /timeScale must be > 0/],
    [['--handshake-delay-ms', 'slow'], /--handshake-delay-ms needs a number, got "slow"/],
    [['--handshake-delay-ms=-5', '--port', '0'], /handshakeDelayMs must be >= 0, got -5/],
  ])('exits with 2 on %j', async (argv, message) => {
    const { cli, err } = io({ 'broken.json': '{ nope' });
    expect(await runCli(argv, cli)).toEqual({ exitCode: 2 });
    expect(err.join('\n')).toMatch(message);
  });
});
