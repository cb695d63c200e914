import {
  type DashScopeDeployment,
  dashscope,
  dashscopeQuota,
  type OpenAIModel,
  type OpenAITier,
  openai,
  openaiQuota,
} from '@tollgate/core/presets';
import { type Simulator, startSimulator } from '@tollgate/simulator';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  defineQuota,
  isTollgateError,
  Limiter,
  limit,
  pipeline,
  type QuotaDefinition,
  run,
} from '../src/index.js';

const DAY = 86_400_000;

/** Model Studio's published figures, `[model, RPM, TPM]`, as the README's table lists them. */
const DASHSCOPE_FIGURES: Record<DashScopeDeployment, ReadonlyArray<[string, number, number]>> = {
  international: [
    ['qwen3-max', 600, 1_000_000],
    ['qwen3-max-2026-01-23', 600, 1_000_000],
    ['qwen3-max-2025-09-23', 60, 100_000],
    ['qwen3-max-preview', 600, 1_000_000],
    ['qwen-flash', 600, 5_000_000],
    ['qwen3-coder-plus', 2_400, 2_000_000],
    ['qwen3-coder-flash', 600, 5_000_000],
  ],
  global: [
    ['qwen3-max', 600, 1_000_000],
    ['qwen3-max-2025-09-23', 60, 100_000],
    ['qwen3-max-preview', 600, 1_000_000],
    ['qwen-plus', 15_000, 5_000_000],
    ['qwen-flash', 15_000, 10_000_000],
    ['qwen3-coder-plus', 2_400, 2_000_000],
  ],
  mainland: [
    ['qwen3-max', 30_000, 5_000_000],
    ['qwen3-max-2026-01-23', 600, 1_000_000],
    ['qwen3-max-2025-09-23', 60, 100_000],
    ['qwen3-max-preview', 600, 1_000_000],
    ['qwen-plus', 30_000, 5_000_000],
    ['qwen-flash', 30_000, 10_000_000],
    ['qwen-turbo', 1_200, 5_000_000],
    ['qwen3-coder-plus', 5_000, 5_000_000],
    ['qwen3-coder-flash', 5_000, 5_000_000],
  ],
};

/** OpenAI's published figures per tier, Tier 1 first: `[RPM, TPM, RPD?]`. */
const OPENAI_FIGURES: Record<OpenAIModel, ReadonlyArray<readonly number[]>> = {
  'gpt-4o': [
    [500, 30_000],
    [5_000, 450_000],
    [5_000, 800_000],
    [10_000, 2_000_000],
    [10_000, 30_000_000],
  ],
  'gpt-4o-mini': [
    [500, 200_000, 10_000],
    [5_000, 2_000_000],
    [5_000, 4_000_000],
    [10_000, 10_000_000],
    [30_000, 150_000_000],
  ],
  'gpt-4.1': [
    [500, 30_000],
    [5_000, 450_000],
    [5_000, 800_000],
    [10_000, 2_000_000],
    [10_000, 30_000_000],
  ],
  'gpt-4.1-mini': [
    [500, 200_000, 10_000],
    [5_000, 2_000_000],
    [5_000, 4_000_000],
    [10_000, 10_000_000],
    [30_000, 150_000_000],
  ],
  'o4-mini': [
    [1_000, 100_000],
    [2_000, 2_000_000],
    [5_000, 4_000_000],
    [10_000, 10_000_000],
    [30_000, 150_000_000],
  ],
};

const dashscopeCases = Object.entries(DASHSCOPE_FIGURES).flatMap(([deployment, rows]) =>
  rows.map(([model, rpm, tpm]) => ({
    deployment: deployment as DashScopeDeployment,
    model,
    rpm,
    tpm,
  })),
);

/** The ConfigurationError `act` throws. */
function configurationError(act: () => unknown): ConfigurationError {
  try {
    act();
  } catch (error) {
    if (isTollgateError(error, 'TOLLGATE_CONFIGURATION')) return error;
    throw error;
  }
  throw new Error('expected a ConfigurationError');
}

describe('dashscope()', () => {
  it.each(dashscopeCases)(
    '$deployment $model: $rpm RPM and $tpm TPM, applied per second as well',
    ({ deployment, model, rpm, tpm }) => {
      const preset = dashscope(model as never, { deployment });
      expect(preset).toEqual({
        rpm,
        tpm,
        rps: Math.floor(rpm / 60),
        tps: tpm / 60,
        accounting: 'reserved',
      });
      const quota = defineQuota(preset);
      expect(quota.windows.map((window) => [window.name, window.limit])).toEqual([
        ['requests/1s', Math.floor(rpm / 60)],
        ['requests/1m', rpm],
        ['tokens/1s', tpm / 60],
        ['tokens/1m', tpm],
      ]);
    },
  );

  it('defaults to the international deployment, whose qwen3-max has 10 RPS and 16,667 TPS', () => {
    expect(dashscope('qwen3-max')).toEqual(dashscope('qwen3-max', { deployment: 'international' }));
    expect(dashscope('qwen3-max')).toMatchObject({ rps: 10, tpm: 1_000_000 });
    expect(Math.round(dashscope('qwen3-max').tps!)).toBe(16_667);
    expect(dashscope('qwen3-max-2025-09-23')).toMatchObject({ rpm: 60, rps: 1, tpm: 100_000 });
  });

  it.each(Object.keys(DASHSCOPE_FIGURES) as DashScopeDeployment[])(
    'refuses a model the %s table does not list, naming every one it does',
    (deployment) => {
      const error = configurationError(() => dashscope('qwen-9000' as never, { deployment }));
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error.option).toBe('dashscope.model');
      const named = [...error.message.matchAll(/'([^']+)'/g)].map((match) => match[1]);
      expect(named).toEqual(DASHSCOPE_FIGURES[deployment].map(([model]) => model));
      expect(error.message).toMatch(/got "qwen-9000"$/);
    },
  );

  it('refuses an unknown deployment and unknown options', () => {
    const deployment = configurationError(() =>
      dashscope('qwen3-max', { deployment: 'mars' as never }),
    );
    expect(deployment.option).toBe('dashscope.options.deployment');
    expect(deployment.message).toContain("'international', 'global', 'mainland'");
    expect(configurationError(() => dashscope('qwen3-max', { tier: 1 } as never)).option).toBe(
      'dashscope.options.tier',
    );
  });

  it('knows a model per deployment at compile time', () => {
    expect(dashscope('qwen-plus', { deployment: 'global' }).rpm).toBe(15_000);
    // @ts-expect-error qwen-plus has no international row
    expect(() => dashscope('qwen-plus')).toThrow(ConfigurationError);
  });
});

describe('dashscopeQuota()', () => {
  it('applies RPM/60 and TPM/60 to figures of your own', () => {
    expect(dashscopeQuota({ rpm: 1_200, tpm: 5_000_000 })).toEqual({
      rpm: 1_200,
      tpm: 5_000_000,
      rps: 20,
      tps: 5_000_000 / 60,
      accounting: 'reserved',
    });
  });

  it('rounds a fractional RPS down: requests are whole', () => {
    expect(dashscopeQuota({ rpm: 5_000, tpm: 5_000_000 }).rps).toBe(83);
  });

  it('turns an RPS below 1 into one request per 60 s / RPM', () => {
    const quota = dashscopeQuota({ rpm: 30, tpm: 30_000 });
    expect(quota).toEqual({
      rpm: 30,
      tpm: 30_000,
      tps: 500,
      windows: [{ unit: 'requests', limit: 1, windowMs: 2_000 }],
      accounting: 'reserved',
    });
    expect(dashscopeQuota({ rpm: 7, tpm: 1_000 }).windows).toEqual([
      { unit: 'requests', limit: 1, windowMs: 8_572 },
    ]);
    expect(defineQuota(quota).windows.map((window) => window.name)).toEqual([
      'requests/2s',
      'requests/1m',
      'tokens/1s',
      'tokens/1m',
    ]);
  });

  it('refuses figures that are not limits', () => {
    expect(configurationError(() => dashscopeQuota({ rpm: 10.5, tpm: 1 })).option).toBe(
      'dashscopeQuota.rpm',
    );
    expect(configurationError(() => dashscopeQuota({ rpm: 60, tpm: 0 })).option).toBe(
      'dashscopeQuota.tpm',
    );
    expect(
      configurationError(() => dashscopeQuota({ rpm: 60, tpm: 1, rps: 1 } as never)).option,
    ).toBe('dashscopeQuota.rps');
  });
});

describe('openai()', () => {
  const openaiCases = Object.entries(OPENAI_FIGURES).flatMap(([model, tiers]) =>
    tiers.map(([rpm, tpm, rpd], index) => ({
      model: model as OpenAIModel,
      tier: (index + 1) as OpenAITier,
      rpm: rpm!,
      tpm: tpm!,
      rpd,
    })),
  );

  it.each(openaiCases)(
    '$model tier $tier: $rpm RPM, $tpm TPM, no per-second window',
    ({ model, tier, rpm, tpm, rpd }) => {
      const preset = openai(model, { tier });
      const expected: QuotaDefinition =
        rpd === undefined
          ? { rpm, tpm, accounting: 'reserved' }
          : {
              rpm,
              tpm,
              windows: [{ unit: 'requests', limit: rpd, windowMs: DAY }],
              accounting: 'reserved',
            };
      expect(preset).toEqual(expected);
      const names = defineQuota(preset).windows.map((window) => window.name);
      expect(names).toEqual(
        rpd === undefined
          ? ['requests/1m', 'tokens/1m']
          : ['requests/1m', 'requests/1d', 'tokens/1m'],
      );
    },
  );

  it('refuses an unknown model, naming the known ones', () => {
    const error = configurationError(() => openai('gpt-3' as never, { tier: 1 }));
    expect(error.option).toBe('openai.model');
    const named = [...error.message.matchAll(/'([^']+)'/g)].map((match) => match[1]);
    expect(named).toEqual(Object.keys(OPENAI_FIGURES));
  });

  it('refuses an unknown or missing tier, naming the known ones', () => {
    for (const tier of [0, 6, '1', undefined]) {
      const error = configurationError(() => openai('gpt-4o', { tier } as never));
      expect(error.option).toBe('openai.options.tier');
      expect(error.message).toContain('must be one of 1, 2, 3, 4, 5, got');
    }
    // @ts-expect-error the tier is required: limits differ up to 1,000× between tiers
    expect(() => openai('gpt-4o', {})).toThrow(ConfigurationError);
  });
});

describe('openaiQuota()', () => {
  it('keeps per-minute figures of your own, with a daily window when given one', () => {
    expect(openaiQuota({ rpm: 500, tpm: 30_000 })).toEqual({
      rpm: 500,
      tpm: 30_000,
      accounting: 'reserved',
    });
    expect(openaiQuota({ rpm: 3, tpm: 40_000, rpd: 200 }).windows).toEqual([
      { unit: 'requests', limit: 200, windowMs: DAY },
    ]);
    expect(configurationError(() => openaiQuota({ rpm: 3, tpm: 1, rpd: 0.5 })).option).toBe(
      'openaiQuota.rpd',
    );
  });
});

describe('a dashscope() limiter against the simulator', () => {
  const TIME_SCALE = 10;
  const REQUESTS = 50;
  const running: Simulator[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((simulator) => simulator.close()));
  });

  /**
   * Sends a burst of REQUESTS chat requests of about 5,000 tokens each (a 1,000-token prompt,
   * 4,000 output tokens) through a limiter of `quota`, to a simulator enforcing qwen3-max as
   * Model Studio does (its per-second windows and burst guard are the simulator's DashScope
   * defaults, not taken from the preset). Returns what the simulator admitted and refused (429).
   */
  async function burst(quota: QuotaDefinition): Promise<{ admitted: number; rejected: number }> {
    const simulator = await startSimulator({
      models: { 'qwen3-max': { rpm: 600, tpm: 1_000_000 } },
      timeScale: TIME_SCALE,
    });
    running.push(simulator);
    const limiter = new Limiter({
      quota,
      clock: simulator.clock,
      // Jitter between the limiter's admission and the simulator's arrival is real time.
      margin: { ms: 50 * TIME_SCALE },
    });
    const send = pipeline(limit(limiter))(async (request: ChatRequest) => {
      const response = await fetch(`${simulator.url}/chat/completions`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${simulator.apiKey}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify(request),
      });
      return (await response.json()) as unknown;
    });
    await Promise.all(
      Array.from({ length: REQUESTS }, (_, index) => run(send, chatRequest(index))),
    );
    limiter.close();
    const { totals, rejected429 } = simulator.stats();
    return { admitted: totals.admitted, rejected: rejected429 };
  }

  it('sends a burst of 50 requests with no 429, where rpm and tpm alone draw some', async () => {
    const [preset, perMinuteOnly] = await Promise.all([
      burst(dashscope('qwen3-max')),
      burst({ rpm: 600, tpm: 1_000_000 }),
    ]);
    expect(preset).toEqual({ admitted: REQUESTS, rejected: 0 });
    expect(perMinuteOnly.rejected).toBeGreaterThan(0);
  }, 30_000);
});

interface ChatRequest {
  readonly model: string;
  readonly messages: ReadonlyArray<{ readonly role: 'user'; readonly content: string }>;
  readonly max_tokens: number;
}

/** A qwen3-max request of a ~1,000-token prompt (distinct per index) and 4,000 output tokens. */
function chatRequest(index: number): ChatRequest {
  const words = ['quota', 'window', 'token', 'request', 'limit', 'minute', 'second', 'model'];
  const text = Array.from({ length: 1_000 }, (_, i) => words[(i * 7 + index) % words.length]);
  return {
    model: 'qwen3-max',
    messages: [{ role: 'user', content: `Item ${index}: ${text.join(' ')}` }],
    max_tokens: 4_000,
  };
}
