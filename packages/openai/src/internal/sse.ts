import { openAIUsage, type Usage } from '@tollgate/core';

/** One server-sent event: its exact text (blank line included) and its joined `data` lines. */
export interface SseEvent {
  readonly raw: string;
  /** The `data:` lines joined by `\n`; undefined when the event has none. */
  readonly data: string | undefined;
}

const LINE_BREAK = /[\r\n]/g;

/**
 * Splits a text stream into server-sent events without altering a byte of it: the concatenated
 * `raw` of every event, plus what `end()` returns, is exactly the input. Lines may end with
 * `\n`, `\r\n` or `\r`, and a chunk may end anywhere, even between `\r` and `\n`.
 */
export class SseSplitter {
  /** The text of the event being read (incomplete). */
  private buffer = '';
  /** Where the first line not yet parsed starts in `buffer`. */
  private lineStart = 0;
  private data: string[] | undefined;

  /** Adds text; returns the events it completed. */
  push(text: string): SseEvent[] {
    this.buffer += text;
    return this.scan(false);
  }

  /** The stream ended: the events still buffered, an unterminated one included. */
  end(): SseEvent[] {
    const events = this.scan(true);
    if (this.buffer !== '') {
      const last = this.buffer.slice(this.lineStart);
      if (last !== '') this.field(last);
      events.push({ raw: this.buffer, data: this.data?.join('\n') });
      this.buffer = '';
      this.lineStart = 0;
      this.data = undefined;
    }
    return events;
  }

  private scan(final: boolean): SseEvent[] {
    const events: SseEvent[] = [];
    const buffer = this.buffer;
    let eventStart = 0;
    let lineStart = this.lineStart;
    for (;;) {
      LINE_BREAK.lastIndex = lineStart;
      const found = LINE_BREAK.exec(buffer);
      if (found === null) break;
      const at = found.index;
      let next = at + 1;
      if (buffer.charCodeAt(at) === 13 /* \r */) {
        // A `\r` at the very end may be the first half of `\r\n`: wait for the next chunk.
        if (next === buffer.length && !final) break;
        if (buffer.charCodeAt(next) === 10 /* \n */) next++;
      }
      const line = buffer.slice(lineStart, at);
      lineStart = next;
      if (line === '') {
        events.push({ raw: buffer.slice(eventStart, next), data: this.data?.join('\n') });
        eventStart = next;
        this.data = undefined;
      } else {
        this.field(line);
      }
    }
    this.buffer = buffer.slice(eventStart);
    this.lineStart = lineStart - eventStart;
    return events;
  }

  private field(line: string): void {
    if (!line.startsWith('data')) return;
    let value: string;
    if (line.length === 4) value = '';
    else if (line.charCodeAt(4) === 58 /* : */) {
      value = line.charCodeAt(5) === 32 /* space */ ? line.slice(6) : line.slice(5);
    } else return; // another field whose name starts with "data"
    if (this.data === undefined) this.data = [value];
    else this.data.push(value);
  }
}

export interface UsageTapOptions {
  /**
   * Drop the final usage chunk (`choices: []` with `usage`) from what the consumer sees: the
   * request asked for it only because Tollgate added `stream_options.include_usage`.
   */
  readonly strip: boolean;
  /**
   * Called exactly once: with the usage when the final usage chunk (or `[DONE]`) passes, or
   * with the last usage seen (usually none) when the stream ends, fails or is cancelled first.
   */
  readonly onSettle: (usage: Usage | undefined) => void;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Passes an SSE chat-completion stream through unchanged, except for the usage chunk when
 * `strip` is set, and reports the stream's usage. Reads from the source only when the
 * consumer reads (no buffering ahead); cancelling the result cancels the source.
 */
export function tapUsage(
  source: ReadableStream<Uint8Array>,
  options: UsageTapOptions,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  const splitter = new SseSplitter();
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let latest: Usage | undefined;
  let settled = false;

  const settle = (): void => {
    if (settled) return;
    settled = true;
    options.onSettle(latest);
  };

  /** Whether the consumer gets this event. */
  const keep = (event: SseEvent): boolean => {
    const data = event.data;
    if (data === undefined) return true;
    if (data.startsWith('[DONE]')) {
      settle();
      return true;
    }
    // Cheap filter: only chunks mentioning usage are parsed.
    if (settled || !data.includes('"usage"')) return true;
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      return true;
    }
    if (!isRecord(chunk) || !isRecord(chunk.usage)) return true;
    latest = openAIUsage(chunk);
    const isUsageChunk = Array.isArray(chunk.choices) && chunk.choices.length === 0;
    if (!isUsageChunk) return true; // usage riding on a content chunk: keep reading
    settle();
    return !options.strip;
  };

  const render = (events: ReadonlyArray<SseEvent>): string => {
    let text = '';
    for (const event of events) if (keep(event)) text += event.raw;
    return text;
  };

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        for (;;) {
          let result: Awaited<ReturnType<typeof reader.read>>;
          try {
            result = await reader.read();
          } catch (error) {
            settle();
            controller.error(error);
            return;
          }
          if (result.done) {
            const tail = render(splitter.push(decoder.decode())) + render(splitter.end());
            if (tail !== '') controller.enqueue(encoder.encode(tail));
            settle();
            controller.close();
            return;
          }
          const text = render(splitter.push(decoder.decode(result.value, { stream: true })));
          if (text !== '') {
            controller.enqueue(encoder.encode(text));
            return;
          }
        }
      },
      cancel(reason) {
        settle();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
