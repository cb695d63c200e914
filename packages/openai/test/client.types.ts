/**
 * Compile-time checks (tsc only, not run): a wrapped client keeps the SDK's own types.
 */
import { type ChatRequestLike, defaultChatEstimator, Limiter } from '@tollgate/core';
import OpenAI, { AzureOpenAI } from 'openai';
import type { Stream } from 'openai/streaming';
import { tollgate, tollgateFetch, withTollgate } from '../src/index.js';

const limiter = new Limiter({ quota: { rpm: 600, tpm: 1_000_000 } });

export async function typed(): Promise<void> {
  const client = withTollgate(new OpenAI({ apiKey: 'sk-test' }), { limiter });
  const reply: OpenAI.Chat.Completions.ChatCompletion = await client.chat.completions.create({
    model: 'qwen3-max',
    messages: [{ role: 'user', content: 'Hi' }],
  });
  const stream: Stream<OpenAI.Chat.Completions.ChatCompletionChunk> =
    await client.chat.completions.create({
      model: 'qwen3-max',
      messages: [{ role: 'user', content: 'Hi' }],
      stream: true,
    });
  void reply;
  void stream;

  // Per-call options are the SDK's own request options, alone or with its other options.
  const urgent: OpenAI.Chat.Completions.ChatCompletion = await client.chat.completions.create(
    { model: 'qwen3-max', messages: [{ role: 'user', content: 'Hi' }] },
    tollgate({ priority: 10, maxWaitMs: 2_000 }),
  );
  await client.chat.completions.create(
    { model: 'qwen3-max', messages: [{ role: 'user', content: 'Hi' }], stream: true },
    { ...tollgate({ maxWaitMs: 500 }), signal: AbortSignal.timeout(1_000), timeout: 60_000 },
  );
  await client.models.list(tollgate({ priority: 1 }));
  void urgent;
  // @ts-expect-error a priority is a number
  tollgate({ priority: 'high' });
  // @ts-expect-error only priority and maxWaitMs
  tollgate({ deadline: 5 });

  // withOptions() of a wrapped client is still the SDK's class.
  const derived: OpenAI = client.withOptions({ timeout: 60_000 });
  void derived;

  // The subclass survives.
  const azure: AzureOpenAI = withTollgate(
    new AzureOpenAI({ apiKey: 'k', endpoint: 'https://x', apiVersion: '2024-10-21' }),
    {
      limiter,
      retry: { provider: 'openai', maxAttempts: 8 },
    },
  );
  void azure;

  // The fetch slots into the SDK's own option.
  const direct = new OpenAI({
    apiKey: 'sk-test',
    fetch: tollgateFetch({ limiter }),
    maxRetries: 0,
  });
  void direct;

  // @ts-expect-error the transport belongs to the client
  withTollgate(new OpenAI({ apiKey: 'sk-test' }), { limiter, fetch: globalThis.fetch });
  // @ts-expect-error a limiter is required
  withTollgate(new OpenAI({ apiKey: 'sk-test' }), {});
}

/** The SDK's own request type, custom tool calls included, is a core `ChatRequestLike`. */
export function sdkRequestIsChatRequestLike(): number {
  const request: OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming = {
    model: 'qwen3-max',
    messages: [
      {
        role: 'assistant',
        tool_calls: [{ id: 't1', type: 'custom', custom: { name: 'run', input: 'ls' } }],
      },
    ],
  };
  const asChat: ChatRequestLike = request;
  return defaultChatEstimator.estimate(asChat).prompt;
}
