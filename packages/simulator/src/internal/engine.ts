import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimulatorStats, WindowReport } from '../stats.js';
import {
  badRequest,
  contextLength,
  type ErrorReply,
  invalidApiKey,
  invalidUrl,
  modelNotFound,
  outputCapTooLarge,
  quotaExhausted,
  type ReplyContext,
  rateLimited,
  unparsableJson,
} from './bodies.js';
import { type ChatRequest, parseChatRequest } from './chat-request.js';
import { formatGoDuration } from './go-duration.js';
import { QuotaLedger, type WindowState } from './quota-ledger.js';
import type { ResolvedAccount, ResolvedConfig, ResolvedModel } from './resolve-config.js';
import type { SimulatorClock } from './scaled-clock.js';
import { type Attribution, StatsRecorder } from './stats-recorder.js';
import { completionTokens, fillerWords, messagesHash, promptTokens } from './tokens.js';

const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** A streamed answer comes in at most this many content chunks. */
const STREAM_CHUNKS = 32;

interface Quota {
  readonly account: ResolvedAccount;
  readonly model: ResolvedModel;
  readonly ledger: QuotaLedger;
  /** Free-tier tokens used (prompt + completion of admitted requests). */
  freeUsed: number;
}

type Headers = Record<string, string>;

class ClosedError extends Error {}

/** The simulator's request handling, quotas and counters, apart from the socket. */
export class Engine {
  private readonly config: ResolvedConfig;
  readonly clock: SimulatorClock;
  private readonly startedAt: number;
  private quotas = new Map<string, Quota>();
  private readonly recorder = new StatsRecorder();
  private readonly timers = new Set<{ handle: unknown; cancel: () => void }>();
  private closed = false;

  constructor(config: ResolvedConfig, clock: SimulatorClock) {
    this.config = config;
    this.clock = clock;
    this.startedAt = clock.now();
  }

  /** The `http` request listener. */
  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    this.route(req, res).catch((error: unknown) => {
      if (error instanceof ClosedError || res.destroyed) {
        res.destroy();
        return;
      }
      if (!res.headersSent) {
        sendJson(res, 500, {
          error: {
            message: `Simulator error: ${String(error)}`,
            type: 'server_error',
            param: null,
            code: null,
          },
        });
      } else {
        res.destroy();
      }
    });
  };

  stats(): SimulatorStats {
    const windows: WindowReport[] = [];
    for (const quota of this.quotas.values()) {
      for (const state of quota.ledger.snapshot()) {
        windows.push({
          account: quota.account.id,
          model: quota.model.id,
          window: state.spec.name,
          unit: state.spec.unit,
          limit: state.spec.limit,
          windowMs: state.spec.windowMs,
          used: state.used,
          maxUsed: state.maxUsed,
        });
      }
    }
    return this.recorder.snapshot(this.clock.now() - this.startedAt, windows);
  }

  reset(quotas: boolean): void {
    this.recorder.reset();
    if (quotas) this.quotas = new Map();
    else for (const quota of this.quotas.values()) quota.ledger.resetMaxima();
  }

  /** Stops every pending response (their sockets are closed by the caller). */
  close(): void {
    this.closed = true;
    for (const timer of this.timers) timer.cancel();
    this.timers.clear();
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const path = url.pathname.replace(/^\/compatible-mode(?=\/v1\/)/, '').replace(/\/+$/, '');
    const method = req.method ?? 'GET';
    const body = await readBody(req);

    if (method === 'POST' && path === '/v1/chat/completions') return this.chat(req, res, body);
    if (method === 'GET' && path === '/v1/models') return this.models(req, res);
    if (method === 'GET' && path === '/stats') return sendJson(res, 200, this.stats());
    const context = this.replyContext();
    sendJson(res, 404, invalidUrl(context, method, url.pathname), this.idHeaders(context));
  }

  private replyContext(): ReplyContext {
    return { mode: this.config.mode, requestId: randomUUID() };
  }

  private idHeaders(context: ReplyContext): Headers {
    return {
      'x-request-id':
        this.config.mode === 'openai'
          ? `req_${randomBytes(16).toString('hex')}`
          : context.requestId,
    };
  }

  private authenticate(req: IncomingMessage): {
    key: string | undefined;
    account?: ResolvedAccount;
  } {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const key = match?.[1];
    const account = key === undefined ? undefined : this.config.accountByKey.get(key);
    return account === undefined ? { key } : { key, account };
  }

  private models(req: IncomingMessage, res: ServerResponse): void {
    const context = this.replyContext();
    const { key, account } = this.authenticate(req);
    if (account === undefined) {
      const reply = invalidApiKey(context, key);
      sendJson(res, reply.status, reply.body, this.idHeaders(context));
      return;
    }
    const created = Math.floor(this.startedAt / 1000);
    sendJson(
      res,
      200,
      {
        object: 'list',
        data: [...this.config.models.keys()].map((id) => ({
          id,
          object: 'model',
          created,
          owned_by: 'system',
        })),
      },
      this.idHeaders(context),
    );
  }

  private quota(account: ResolvedAccount, model: ResolvedModel): Quota {
    const id = `${account.id}\u0000${model.id}`;
    let quota = this.quotas.get(id);
    if (quota === undefined) {
      quota = {
        account,
        model,
        ledger: new QuotaLedger({
          windows: model.windows,
          countRejected: this.config.countRejected,
          clock: this.clock,
        }),
        freeUsed: 0,
      };
      this.quotas.set(id, quota);
    }
    return quota;
  }

  private reject(
    res: ServerResponse,
    context: ReplyContext,
    reply: ErrorReply,
    who: Attribution,
    headers: Headers = {},
  ): void {
    this.recorder.rejected(who, reply.reason);
    sendJson(res, reply.status, reply.body, { ...this.idHeaders(context), ...headers });
  }

  private async chat(req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
    const context = this.replyContext();
    const { key, account } = this.authenticate(req);
    if (account === undefined) return this.reject(res, context, invalidApiKey(context, key), {});
    const who: Attribution = { key, account: account.id };

    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return this.reject(res, context, unparsableJson(context), who);
    }
    const parsed = parseChatRequest(json);
    if (!parsed.ok) return this.reject(res, context, badRequest(context, parsed.problem), who);
    const { request } = parsed;

    const model = this.config.models.get(request.model);
    if (model === undefined) {
      return this.reject(res, context, modelNotFound(context, request.model), who);
    }
    const attributed: Attribution = { ...who, model: model.id };
    const quota = this.quota(account, model);
    const headers = (): Headers =>
      this.config.mode === 'openai' ? rateLimitHeaders(quota.ledger.snapshot()) : {};

    const asked = request.maxTokens;
    if (asked !== undefined && asked.value > model.maxOutputTokens) {
      const reply = outputCapTooLarge(context, asked.param, asked.value, model.maxOutputTokens);
      return this.reject(res, context, reply, attributed, headers());
    }
    const maxTokens = asked?.value ?? model.defaultMaxTokens;
    const prompt = promptTokens(request.messages);
    if (prompt + maxTokens > model.contextWindow) {
      const reply = contextLength(context, {
        promptTokens: prompt,
        maxTokens,
        contextWindow: model.contextWindow,
      });
      return this.reject(res, context, reply, attributed, headers());
    }
    if (account.freeTokens !== undefined && quota.freeUsed >= account.freeTokens) {
      return this.reject(res, context, quotaExhausted(context), attributed, headers());
    }

    const decision = quota.ledger.tryAdmit(prompt + maxTokens);
    if (!decision.admitted) {
      const wait = decision.retryAfterMs;
      const reply = rateLimited(context, {
        window: decision.window,
        used: decision.used,
        requested: decision.requested,
        retryAfterMs: wait,
        model: model.id,
        organization: this.config.organization,
      });
      const retryHeaders: Headers =
        this.config.mode === 'openai' && wait !== undefined
          ? {
              'retry-after': String(Math.max(1, Math.ceil(wait / 1000))),
              'retry-after-ms': String(Math.ceil(wait)),
            }
          : {};
      return this.reject(res, context, reply, attributed, { ...headers(), ...retryHeaders });
    }

    const completion = completionTokens(request.messages, maxTokens, this.config.completion);
    quota.freeUsed += prompt + completion;
    this.recorder.admitted({
      at: decision.ticket.at - this.startedAt,
      account: account.id,
      key: key ?? '',
      model: model.id,
      promptTokens: prompt,
      maxTokens,
      completionTokens: completion,
      cost: decision.ticket.cost,
    });

    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      if (this.config.accounting === 'actual') {
        quota.ledger.settle(decision.ticket, prompt + completion);
      }
    };
    res.once('close', settle);
    const answer: Answer = {
      id: `chatcmpl-${randomUUID()}`,
      created: Math.floor(this.clock.now() / 1000),
      model: model.id,
      promptTokens: prompt,
      completionTokens: completion,
      words: fillerWords(completion, messagesHash(request.messages)),
      finishReason: completion >= maxTokens ? 'length' : 'stop',
    };
    const responseHeaders = { ...this.idHeaders(context), ...headers() };
    if (request.stream) await this.stream(res, answer, request, responseHeaders, settle);
    else await this.respond(res, answer, responseHeaders, settle);
  }

  private async respond(res: ServerResponse, answer: Answer, headers: Headers, settle: () => void) {
    const { base, perOutputToken } = this.config.latency;
    await this.sleep(base + perOutputToken * answer.completionTokens);
    if (res.destroyed) return;
    settle();
    sendJson(
      res,
      200,
      {
        id: answer.id,
        object: 'chat.completion',
        created: answer.created,
        model: answer.model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: answer.words.join(''), refusal: null },
            logprobs: null,
            finish_reason: answer.finishReason,
          },
        ],
        usage: usage(answer),
        system_fingerprint: null,
      },
      headers,
    );
  }

  private async stream(
    res: ServerResponse,
    answer: Answer,
    request: ChatRequest,
    headers: Headers,
    settle: () => void,
  ): Promise<void> {
    const { base, perOutputToken } = this.config.latency;
    await this.sleep(base);
    if (res.destroyed) return;
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    const usageField = request.includeUsage ? { usage: null } : {};
    const chunk = (delta: object, finishReason: string | null) => ({
      id: answer.id,
      object: 'chat.completion.chunk',
      created: answer.created,
      model: answer.model,
      system_fingerprint: null,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...usageField,
    });
    const send = (data: unknown) => {
      res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
    };

    send(chunk({ role: 'assistant', content: '', refusal: null }, null));
    const size = Math.max(1, Math.ceil(answer.words.length / STREAM_CHUNKS));
    for (let start = 0; start < answer.words.length; start += size) {
      const words = answer.words.slice(start, start + size);
      if (start > 0) await this.sleep(perOutputToken * words.length);
      if (res.destroyed) return;
      send(chunk({ content: words.join('') }, null));
    }
    if (res.destroyed) return;
    send(chunk({}, answer.finishReason));
    if (request.includeUsage) {
      send({
        id: answer.id,
        object: 'chat.completion.chunk',
        created: answer.created,
        model: answer.model,
        system_fingerprint: null,
        choices: [],
        usage: usage(answer),
      });
    }
    settle();
    send('[DONE]');
    res.end();
  }

  /** Waits `simulatedMs` of simulated time; rejects when the simulator closes meanwhile. */
  private sleep(simulatedMs: number): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError());
    if (simulatedMs <= 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = {
        handle: undefined as unknown,
        cancel: () => {
          this.clock.clearTimeout(timer.handle);
          reject(new ClosedError());
        },
      };
      timer.handle = this.clock.setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, simulatedMs);
      this.timers.add(timer);
    });
  }
}

/** OpenAI's `x-ratelimit-*` headers from the per-minute windows (or the per-second ones). */
function rateLimitHeaders(states: ReadonlyArray<WindowState>): Headers {
  const headers: Headers = {};
  const describe = (unit: 'requests' | 'tokens', names: ReadonlyArray<string>) => {
    const state = names
      .map((name) => states.find((candidate) => candidate.spec.name === name))
      .find((candidate) => candidate !== undefined);
    if (state === undefined) return;
    headers[`x-ratelimit-limit-${unit}`] = String(Math.floor(state.spec.limit));
    headers[`x-ratelimit-remaining-${unit}`] = String(state.remaining);
    headers[`x-ratelimit-reset-${unit}`] = formatGoDuration(state.resetMs);
  };
  describe('requests', ['rpm', 'rps']);
  describe('tokens', ['tpm', 'tps']);
  return headers;
}

interface Answer {
  readonly id: string;
  readonly created: number;
  readonly model: string;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly words: ReadonlyArray<string>;
  readonly finishReason: 'stop' | 'length';
}

function usage(answer: Answer) {
  return {
    prompt_tokens: answer.promptTokens,
    completion_tokens: answer.completionTokens,
    total_tokens: answer.promptTokens + answer.completionTokens,
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Headers = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new Error(`request body above ${MAX_BODY_BYTES} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
