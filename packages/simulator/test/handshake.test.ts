/**
 * The handshake delay: HTTPS with the bundled test certificate, each new connection held before
 * its TLS handshake (so the client cannot write its request), warm connections not at all.
 * Real sockets through node:https; only lower bounds on real time (a timer never fires early),
 * and generous upper ones.
 */
import { X509Certificate } from 'node:crypto';
import { Agent, request } from 'node:https';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../src/index.js';
import { chat, start } from './helpers.js';

const agents: Agent[] = [];
afterEach(() => {
  for (const agent of agents.splice(0)) agent.destroy();
});

/** A keep-alive HTTPS agent trusting `ca`, at most `sockets` connections. */
function agentFor(ca: string | undefined, sockets: number): Agent {
  const agent = new Agent({
    keepAlive: true,
    maxSockets: sockets,
    ...(ca === undefined ? {} : { ca }),
  });
  agents.push(agent);
  return agent;
}

interface Sent {
  readonly status: number;
  /** Whether the request went on a connection already open. */
  readonly reusedSocket: boolean;
  /** Real ms from the call to the request's last byte handed to the socket. */
  readonly writtenAfterMs: number;
}

/** POSTs a tiny chat completion through `agent`. */
function post(sim: Simulator, agent: Agent): Promise<Sent> {
  const body = JSON.stringify({
    model: 'm',
    messages: [{ role: 'user', content: 'hi' }],
    max_tokens: 5,
  });
  const started = performance.now();
  return new Promise<Sent>((resolve, reject) => {
    let writtenAfterMs = Number.NaN;
    const req = request(
      `${sim.url}/chat/completions`,
      {
        method: 'POST',
        agent,
        headers: { authorization: `Bearer ${sim.apiKey}`, 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, reusedSocket: req.reusedSocket, writtenAfterMs }),
        );
      },
    );
    req.on('finish', () => {
      writtenAfterMs = performance.now() - started;
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('handshakeDelayMs', () => {
  it('serves plain HTTP without one, and needs no certificate', async () => {
    const sim = await start({ models: { m: {} } });
    expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    expect(sim.ca).toBeUndefined();
    expect((await chat(sim)).status).toBe(200);
  });

  it('serves HTTPS with a long-lived test certificate for localhost, 127.0.0.1 and ::1', async () => {
    const sim = await start({ models: { m: {} }, handshakeDelayMs: 10 });
    expect(sim.url).toBe(`https://127.0.0.1:${sim.port}/v1`);
    const certificate = new X509Certificate(sim.ca ?? '');
    expect(certificate.checkHost('localhost')).toBe('localhost');
    expect(certificate.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(certificate.checkIP('::1')).toBe('::1');
    expect(certificate.verify(certificate.publicKey)).toBe(true); // its own CA
    expect(new Date(certificate.validFrom).getTime()).toBeLessThan(Date.UTC(2001, 0, 1));
    expect(new Date(certificate.validTo).getTime()).toBeGreaterThan(Date.UTC(2100, 0, 1));
    expect((await post(sim, agentFor(sim.ca, 1))).status).toBe(200);
  });

  it('is refused by a client that does not trust the certificate', async () => {
    const sim = await start({ models: { m: {} }, handshakeDelayMs: 10 });
    await expect(post(sim, agentFor(undefined, 1))).rejects.toMatchObject({
      code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    });
    expect(sim.stats().totals.requests).toBe(0);
  });

  it('holds each new connection before its handshake, in simulated time, and no warm one', async () => {
    const timeScale = 4;
    const sim = await start({ models: { m: {} }, handshakeDelayMs: 2400, timeScale });
    const delayRealMs = 2400 / timeScale;
    const agent = agentFor(sim.ca, 2);

    // Two at once: two new connections, each written only once its handshake was let through.
    const cold = await Promise.all([post(sim, agent), post(sim, agent)]);
    expect(cold.map((sent) => sent.status)).toEqual([200, 200]);
    expect(cold.map((sent) => sent.reusedSocket)).toEqual([false, false]);
    for (const sent of cold) expect(sent.writtenAfterMs).toBeGreaterThanOrEqual(delayRealMs);

    // Then one after another on the open connections: none waits for a handshake.
    const warmStarted = performance.now();
    const warm: Sent[] = [];
    for (let i = 0; i < 4; i++) warm.push(await post(sim, agent));
    expect(warm.map((sent) => sent.reusedSocket)).toEqual([true, true, true, true]);
    expect(performance.now() - warmStarted).toBeLessThan(delayRealMs);
    expect(sim.stats().totals.admitted).toBe(6);
  });

  it('closes connections it still holds, and those open', async () => {
    const sim = await start({ models: { m: {} }, handshakeDelayMs: 200 });
    const warm = agentFor(sim.ca, 1);
    expect((await post(sim, warm)).status).toBe(200);
    const held = post(sim, agentFor(sim.ca, 1)).then(
      () => 'answered',
      () => 'failed',
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    await sim.close();
    expect(await held).toBe('failed');
    await expect(post(sim, warm)).rejects.toThrow();
    expect(sim.stats().totals.requests).toBe(1);
  });
});
