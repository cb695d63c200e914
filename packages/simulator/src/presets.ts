import type { SimulatorConfig } from './config.js';

/**
 * qwen3-max on Alibaba Cloud Model Studio (DashScope), compatible mode: 600 RPM and
 * 1,000,000 TPM per account, applied per second as well (10 RPS, ≈16,667 TPS), with the burst
 * guard on (at most 4 requests in any 250 ms); a 262,144-token context and up to 65,536 output
 * tokens.
 *
 * @example
 * const simulator = await startSimulator({ ...presets.qwen3Max, timeScale: 20 });
 */
const qwen3Max: SimulatorConfig = Object.freeze({
  mode: 'dashscope',
  models: Object.freeze({
    'qwen3-max': Object.freeze({
      rpm: 600,
      tpm: 1_000_000,
      rps: 10,
      tps: 16_667,
      burst: Object.freeze({ windowMs: 250, limit: 4 }),
      contextWindow: 262_144,
      maxOutputTokens: 65_536,
      defaultMaxTokens: 4096,
    }),
  }),
});

/**
 * OpenAI usage tier 1: gpt-4o-mini at 500 RPM and 200,000 TPM, gpt-4o at 500 RPM and
 * 30,000 TPM (128,000-token context, 16,384 output tokens), OpenAI bodies and headers. OpenAI
 * documents per-minute limits only, so no per-second windows and no burst guard.
 *
 * @example
 * const simulator = await startSimulator(presets.openaiTier1);
 */
const openaiTier1: SimulatorConfig = Object.freeze({
  mode: 'openai',
  models: Object.freeze({
    'gpt-4o-mini': Object.freeze({
      rpm: 500,
      tpm: 200_000,
      rps: false,
      tps: false,
      burst: false,
      contextWindow: 128_000,
      maxOutputTokens: 16_384,
    }),
    'gpt-4o': Object.freeze({
      rpm: 500,
      tpm: 30_000,
      rps: false,
      tps: false,
      burst: false,
      contextWindow: 128_000,
      maxOutputTokens: 16_384,
    }),
  }),
});

/** Ready-made configurations; spread one and override what you need. */
export const presets: Readonly<{ qwen3Max: SimulatorConfig; openaiTier1: SimulatorConfig }> =
  Object.freeze({ qwen3Max, openaiTier1 });
