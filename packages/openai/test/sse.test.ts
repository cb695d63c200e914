import type { Usage } from '@tollgate/core';
import { describe, expect, it } from 'vitest';
import { SseSplitter, tapUsage } from '../src/internal/sse.js';

const chunk = (content: string) =>
  JSON.stringify({
    id: 'c1',
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta: { content } }],
  });
const usageChunk = JSON.stringify({
  id: 'c1',
  object: 'chat.completion.chunk',
  choices: [],
  usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
});

/** A stream whose events end with `eol` and whose bytes arrive in pieces of `size`. */
function sse(events: ReadonlyArray<string>, eol = '\n', size = Number.POSITIVE_INFINITY): string[] {
  const text = events.map((data) => `data: ${data}${eol}${eol}`).join('');
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  return pieces;
}

function streamOf(pieces: ReadonlyArray<string>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let index = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const piece = pieces[index++];
      if (piece === undefined) controller.close();
      else controller.enqueue(encoder.encode(piece));
    },
  });
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}

function dataOf(text: string): string[] {
  return [...text.matchAll(/^data: (.*)$/gm)].map((match) => match[1]!.replace(/\r$/, ''));
}

describe('SseSplitter', () => {
  it('gives back every byte, event by event, wherever the chunks are cut and whatever the line ends', () => {
    for (const eol of ['\n', '\r\n', '\r']) {
      const text = `: comment${eol}${eol}event: x${eol}data: a${eol}data: b${eol}${eol}data:c${eol}${eol}data: [DONE]${eol}${eol}`;
      for (let cut = 0; cut <= text.length; cut++) {
        for (let cut2 = cut; cut2 <= text.length; cut2 += 3) {
          const splitter = new SseSplitter();
          const events = [
            ...splitter.push(text.slice(0, cut)),
            ...splitter.push(text.slice(cut, cut2)),
            ...splitter.push(text.slice(cut2)),
            ...splitter.end(),
          ];
          expect(events.map((event) => event.raw).join('')).toBe(text);
          expect(events.map((event) => event.data)).toEqual([undefined, 'a\nb', 'c', '[DONE]']);
        }
      }
    }
  });

  it('returns an unterminated last event at the end', () => {
    const splitter = new SseSplitter();
    expect(splitter.push('data: one\n\ndata: two')).toEqual([
      { raw: 'data: one\n\n', data: 'one' },
    ]);
    expect(splitter.end()).toEqual([{ raw: 'data: two', data: 'two' }]);
  });
});

describe('tapUsage', () => {
  const events = [chunk('Hel'), chunk('lo'), usageChunk, '[DONE]'];

  it('drops the usage chunk when stripping and reports its usage, for any chunking', async () => {
    for (const eol of ['\n', '\r\n']) {
      for (const size of [1, 2, 7, 64, Number.POSITIVE_INFINITY]) {
        const settled: Array<Usage | undefined> = [];
        const out = await readAll(
          tapUsage(streamOf(sse(events, eol, size)), {
            strip: true,
            onSettle: (usage) => settled.push(usage),
          }),
        );
        expect(dataOf(out)).toEqual([chunk('Hel'), chunk('lo'), '[DONE]']);
        expect(settled).toEqual([{ promptTokens: 12, completionTokens: 5, totalTokens: 17 }]);
      }
    }
  });

  it('passes the stream through byte for byte when not stripping', async () => {
    const pieces = sse(events, '\r\n', 5);
    const settled: Array<Usage | undefined> = [];
    const out = await readAll(
      tapUsage(streamOf(pieces), { strip: false, onSettle: (usage) => settled.push(usage) }),
    );
    expect(out).toBe(pieces.join(''));
    expect(settled).toEqual([{ promptTokens: 12, completionTokens: 5, totalTokens: 17 }]);
  });

  it('settles once without usage when the stream ends without it', async () => {
    const settled: Array<Usage | undefined> = [];
    const out = await readAll(
      tapUsage(streamOf(sse([chunk('a'), '[DONE]'])), {
        strip: true,
        onSettle: (usage) => settled.push(usage),
      }),
    );
    expect(dataOf(out)).toEqual([chunk('a'), '[DONE]']);
    expect(settled).toEqual([undefined]);
  });

  it('settles once without usage when the consumer cancels, and cancels the source', async () => {
    let sourceCancelled = false;
    const encoder = new TextEncoder();
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(encoder.encode(`data: ${chunk('x')}\n\n`));
      },
      cancel() {
        sourceCancelled = true;
      },
    });
    const settled: Array<Usage | undefined> = [];
    const reader = tapUsage(source, {
      strip: true,
      onSettle: (usage) => settled.push(usage),
    }).getReader();
    await reader.read();
    await reader.cancel('enough');
    expect(settled).toEqual([undefined]);
    expect(sourceCancelled).toBe(true);
  });

  it('settles once and fails the stream when the source fails', async () => {
    let sent = false;
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent) controller.error(new Error('reset'));
        else controller.enqueue(new TextEncoder().encode(`data: ${chunk('x')}\n\n`));
        sent = true;
      },
    });
    const settled: Array<Usage | undefined> = [];
    await expect(
      readAll(tapUsage(source, { strip: true, onSettle: (usage) => settled.push(usage) })),
    ).rejects.toThrow('reset');
    expect(settled).toEqual([undefined]);
  });
});
