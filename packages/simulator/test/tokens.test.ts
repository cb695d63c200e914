import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { formatGoDuration } from '../src/internal/go-duration.js';
import {
  completionTokens,
  fillerWords,
  messagesHash,
  promptTokens,
} from '../src/internal/tokens.js';

describe('prompt tokens', () => {
  it('counts o200k tokens of the contents, plus 4 per message and 3 per request', () => {
    const messages = [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Summarise the quota rules of qwen3-max.' },
    ];
    const expected =
      3 +
      4 +
      countTokens('You are terse.') +
      4 +
      countTokens('Summarise the quota rules of qwen3-max.');
    expect(promptTokens(messages)).toBe(expected);
  });

  it('reads text parts and ignores content it cannot read', () => {
    const parts = [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'hello ' },
          { type: 'image_url' },
          { type: 'text', text: 'world' },
        ],
      },
      { role: 'assistant', content: null },
    ];
    expect(promptTokens(parts)).toBe(3 + 4 + countTokens('hello world') + 4);
  });

  it('counts special-token text as ordinary text instead of throwing', () => {
    expect(promptTokens([{ role: 'user', content: 'a <|endoftext|> b' }])).toBeGreaterThan(7);
  });
});

describe('completion tokens', () => {
  const ratios = { minRatio: 0.3, maxRatio: 1 };

  it('is deterministic per messages and stays within [minRatio, maxRatio] of the cap', () => {
    for (let i = 0; i < 200; i++) {
      const messages = [{ role: 'user', content: `prompt number ${i}` }];
      const tokens = completionTokens(messages, 1000, ratios);
      expect(completionTokens(messages, 1000, ratios)).toBe(tokens);
      expect(tokens).toBeGreaterThanOrEqual(300);
      expect(tokens).toBeLessThanOrEqual(1000);
    }
  });

  it('varies between requests', () => {
    const values = new Set(
      Array.from({ length: 50 }, (_, i) =>
        completionTokens([{ role: 'user', content: `q${i}` }], 1000, ratios),
      ),
    );
    expect(values.size).toBeGreaterThan(40);
  });

  it('is at least 1 and never above the cap', () => {
    expect(completionTokens([{ content: 'x' }], 1, ratios)).toBe(1);
    expect(completionTokens([{ content: 'x' }], 10, { minRatio: 0, maxRatio: 0 })).toBe(1);
    expect(completionTokens([{ content: 'x' }], 10, { minRatio: 1, maxRatio: 1 })).toBe(10);
  });

  it('hashes roles and contents', () => {
    expect(messagesHash([{ role: 'user', content: 'a' }])).not.toBe(
      messagesHash([{ role: 'system', content: 'a' }]),
    );
  });

  it('fills the answer with exactly as many tokens as it reports', () => {
    for (const count of [1, 2, 7, 50, 333, 2000]) {
      for (const seed of [0, 5, 123_456_789]) {
        expect(countTokens(fillerWords(count, seed).join(''))).toBe(count);
      }
    }
  });
});

describe('Go durations', () => {
  it.each([
    [0, '0s'],
    [0.2, '1ms'],
    [12, '12ms'],
    [999, '999ms'],
    [1000, '1s'],
    [1500, '1.5s'],
    [59_982, '59.982s'],
    [60_000, '1m0s'],
    [360_000, '6m0s'],
    [3_723_500, '1h2m3.5s'],
  ])('writes %d ms as %s', (ms, text) => {
    expect(formatGoDuration(ms)).toBe(text);
  });
});
