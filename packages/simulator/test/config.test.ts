import { describe, expect, it } from 'vitest';
import {
  isSimulatorConfigError,
  presets,
  type SimulatorConfig,
  SimulatorConfigError,
  startSimulator,
} from '../src/index.js';
import { defaultBurstLimit, resolveConfig } from '../src/internal/resolve-config.js';

function configError(config: unknown): SimulatorConfigError {
  try {
    resolveConfig(config as SimulatorConfig);
  } catch (error) {
    if (error instanceof SimulatorConfigError) return error;
    throw error;
  }
  throw new Error('expected a SimulatorConfigError');
}

const windowsOf = (config: SimulatorConfig, model: string) =>
  resolveConfig(config)
    .models.get(model)
    ?.windows.map(({ name, limit, windowMs }) => ({ name, limit, windowMs }));

describe('defaults', () => {
  it('is qwen3-max in DashScope mode with one demo account', () => {
    const config = resolveConfig(undefined);
    expect(config).toMatchObject({
      port: 0,
      host: '127.0.0.1',
      mode: 'dashscope',
      accounting: 'reserved',
      countRejected: true,
      timeScale: 1,
      latency: { base: 400, perOutputToken: 0 },
      handshakeDelayMs: 0,
      completion: { minRatio: 0.3, maxRatio: 1 },
      accounts: [{ id: 'demo', keys: ['sk-tollgate-demo'], freeTokens: undefined }],
    });
    expect(windowsOf({}, 'qwen3-max')).toEqual([
      { name: 'rpm', limit: 600, windowMs: 60_000 },
      { name: 'rps', limit: 10, windowMs: 1000 },
      { name: 'burst', limit: 4, windowMs: 250 },
      { name: 'tpm', limit: 1_000_000, windowMs: 60_000 },
      { name: 'tps', limit: 16_667, windowMs: 1000 },
    ]);
    expect(resolveConfig({}).models.get('qwen3-max')).toMatchObject({
      contextWindow: 262_144,
      maxOutputTokens: 65_536,
      defaultMaxTokens: 4096,
    });
  });

  it('derives per-second windows from the per-minute ones (RPM/60, TPM/60) and the burst guard from them', () => {
    expect(windowsOf({ models: { m: { rpm: 600, tpm: 60_000 } } }, 'm')).toEqual([
      { name: 'rpm', limit: 600, windowMs: 60_000 },
      { name: 'rps', limit: 10, windowMs: 1000 },
      { name: 'burst', limit: 4, windowMs: 250 },
      { name: 'tpm', limit: 60_000, windowMs: 60_000 },
      { name: 'tps', limit: 1000, windowMs: 1000 },
    ]);
  });

  it('stretches a per-second limit below 1: 30 RPM allows 1 request per 2 s', () => {
    expect(windowsOf({ models: { m: { rpm: 30, burst: false } } }, 'm')).toEqual([
      { name: 'rpm', limit: 30, windowMs: 60_000 },
      { name: 'rps', limit: 1, windowMs: 2000 },
    ]);
  });

  it('turns windows off with false, and has none for limits not given', () => {
    expect(windowsOf({ models: { m: { rpm: 60, rps: false, burst: false } } }, 'm')).toEqual([
      { name: 'rpm', limit: 60, windowMs: 60_000 },
    ]);
    expect(windowsOf({ models: { m: {} } }, 'm')).toEqual([]);
    expect(windowsOf({ models: { m: { tpm: 6000, tps: false } } }, 'm')).toEqual([
      { name: 'tpm', limit: 6000, windowMs: 60_000 },
    ]);
  });

  it('sets the burst guard at 1.6× the per-second rate within 250 ms, at least 2', () => {
    expect(defaultBurstLimit(10)).toBe(4);
    expect(defaultBurstLimit(500 / 60)).toBe(4);
    expect(defaultBurstLimit(20)).toBe(8);
    expect(defaultBurstLimit(1)).toBe(2);
    expect(defaultBurstLimit(100)).toBe(40);
    expect(defaultBurstLimit(10, 1000)).toBe(16);
    expect(
      windowsOf({ models: { m: { rpm: 60, rps: 20, burst: { windowMs: 500 } } } }, 'm'),
    ).toContainEqual({
      name: 'burst',
      limit: 16,
      windowMs: 500,
    });
    expect(windowsOf({ models: { m: { rpm: 60, burst: { limit: 3 } } } }, 'm')).toContainEqual({
      name: 'burst',
      limit: 3,
      windowMs: 250,
    });
  });

  it('ships presets with the documented quotas', () => {
    expect(windowsOf(presets.qwen3Max, 'qwen3-max')?.map((w) => w.limit)).toEqual([
      600, 10, 4, 1_000_000, 16_667,
    ]);
    const openai = resolveConfig(presets.openaiTier1);
    expect(openai.mode).toBe('openai');
    expect(windowsOf(presets.openaiTier1, 'gpt-4o-mini')).toEqual([
      { name: 'rpm', limit: 500, windowMs: 60_000 },
      { name: 'tpm', limit: 200_000, windowMs: 60_000 },
    ]);
    expect(windowsOf(presets.openaiTier1, 'gpt-4o')?.map((w) => w.limit)).toEqual([500, 30_000]);
    expect(openai.models.get('gpt-4o-mini')).toMatchObject({
      contextWindow: 128_000,
      maxOutputTokens: 16_384,
    });
  });

  it('uses smaller output defaults for models with small windows', () => {
    expect(resolveConfig({ models: { m: { contextWindow: 2000 } } }).models.get('m')).toMatchObject(
      {
        contextWindow: 2000,
        maxOutputTokens: 2000,
        defaultMaxTokens: 2000,
      },
    );
  });
});

describe('validation', () => {
  it.each([
    [{ prot: 1 }, 'prot', /is not an option/],
    [{ models: { m: { rpmm: 1 } } }, 'models.m.rpmm', /is not an option/],
    [{ models: { m: { burst: { window: 1 } } } }, 'models.m.burst.window', /is not an option/],
    [
      { accounts: [{ id: 'a', keys: ['k'], tier: 'free' }] },
      'accounts[0].tier',
      /is not an option/,
    ],
    [{ latencyMs: { median: 3 } }, 'latencyMs.median', /is not an option/],
    [{ models: { m: { rpm: 0 } } }, 'models.m.rpm', /must be > 0/],
    [{ models: { m: { tpm: -5 } } }, 'models.m.tpm', /must be > 0/],
    [{ models: { m: { rpm: Number.NaN } } }, 'models.m.rpm', /finite number/],
    [{ models: { m: { rpm: '600' } } }, 'models.m.rpm', /finite number, got "600"/],
    [{ models: { m: { rps: true } } }, 'models.m.rps', /finite number/],
    [{ models: { m: { burst: { limit: 1.5 } } } }, 'models.m.burst.limit', /integer >= 1/],
    [{ models: { m: { burst: {} } } }, 'models.m.burst.limit', /required/],
    [
      { models: { m: { contextWindow: 100, maxOutputTokens: 200 } } },
      'models.m.maxOutputTokens',
      /contextWindow/,
    ],
    [
      { models: { m: { maxOutputTokens: 100, defaultMaxTokens: 200 } } },
      'models.m.defaultMaxTokens',
      /maxOutputTokens/,
    ],
    [{ models: {} }, 'models', /at least one model/],
    [{ models: [] }, 'models', /must be an object/],
    [{ port: 70_000 }, 'port', /at most 65535/],
    [{ port: 1.5 }, 'port', /integer/],
    [{ timeScale: 0 }, 'timeScale', /> 0/],
    [{ mode: 'azure' }, 'mode', /'dashscope', 'openai'/],
    [{ accounting: 'lazy' }, 'accounting', /'reserved', 'actual'/],
    [{ countRejected: 'yes' }, 'countRejected', /true or false/],
    [{ completion: { minRatio: 0.9, maxRatio: 0.5 } }, 'completion.minRatio', /must not exceed/],
    [{ completion: { maxRatio: 2 } }, 'completion.maxRatio', /between 0 and 1/],
    [{ latencyMs: { base: -1 } }, 'latencyMs.base', />= 0/],
    [{ handshakeDelayMs: -1 }, 'handshakeDelayMs', /must be >= 0, got -1/],
    [{ handshakeDelayMs: '150' }, 'handshakeDelayMs', /finite number, got "150"/],
    [{ handshakeDelayMs: Number.POSITIVE_INFINITY }, 'handshakeDelayMs', /finite number/],
    [{ accounts: [] }, 'accounts', /at least one account/],
    [{ accounts: [{ id: 'a', keys: [] }] }, 'accounts[0].keys', /non-empty array/],
    [{ accounts: [{ id: '', keys: ['k'] }] }, 'accounts[0].id', /non-empty string/],
    [{ accounts: [{ id: 'a', keys: ['k k'] }] }, 'accounts[0].keys[0]', /whitespace/],
    [
      { accounts: [{ id: 'a', keys: ['k'], freeTokens: -1 }] },
      'accounts[0].freeTokens',
      /integer >= 0/,
    ],
    [
      {
        accounts: [
          { id: 'a', keys: ['k1'] },
          { id: 'b', keys: ['k2', 'k1'] },
        ],
      },
      'accounts[1].keys[1]',
      /already a key/,
    ],
    [
      {
        accounts: [
          { id: 'a', keys: ['k1'] },
          { id: 'a', keys: ['k2'] },
        ],
      },
      'accounts[1].id',
      /duplicates/,
    ],
  ])('rejects %j at %s', (config, path, message) => {
    const error = configError(config);
    expect(error.path).toBe(path);
    expect(error.message).toMatch(message);
    expect(error.code).toBe('ERR_SIMULATOR_CONFIG');
    expect(isSimulatorConfigError(error)).toBe(true);
  });

  it('fails startSimulator before listening', async () => {
    const failure = startSimulator({ models: { m: { rpm: -1 } } });
    await expect(failure).rejects.toBeInstanceOf(SimulatorConfigError);
    await expect(failure).rejects.toMatchObject({ path: 'models.m.rpm' });
  });

  it('recognises only its own errors', () => {
    expect(isSimulatorConfigError(new Error('x'))).toBe(false);
    expect(isSimulatorConfigError(undefined)).toBe(false);
  });
});
