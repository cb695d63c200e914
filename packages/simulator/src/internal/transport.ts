import { createServer as createHttpServer, type RequestListener } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import {
  type AddressInfo,
  createServer as createNetServer,
  type Server,
  type Socket,
} from 'node:net';
import type { SimulatorClock } from './scaled-clock.js';
import { TEST_CERTIFICATE, TEST_PRIVATE_KEY } from './test-certificate.js';

/** How long an idle keep-alive connection stays open, as Node's default. */
const KEEP_ALIVE_MS = 5_000;

export interface TransportOptions {
  readonly host: string;
  readonly port: number;
  /** Simulated ms each new connection waits before its TLS handshake; 0 serves plain HTTP. */
  readonly handshakeDelayMs: number;
  readonly clock: SimulatorClock;
}

/** Where the simulator listens, and what a client must trust to reach it. */
export interface Transport {
  readonly protocol: 'http' | 'https';
  readonly port: number;
  /** The certificate to trust (PEM) over HTTPS; `undefined` over plain HTTP. */
  readonly ca: string | undefined;
  /** Stops listening and closes every connection, held or open. */
  close(): Promise<void>;
}

/**
 * Listens with `listener`: plain HTTP, or — with a handshake delay — HTTPS whose every new
 * connection waits that long before the server reads its ClientHello. That is where a remote
 * provider's TCP and TLS round trips cost a client: it cannot write its request until the
 * handshake completes. (Over plain HTTP a delay would not hold the client back: the kernel
 * accepts its connection and its request at once, and only the reading would come late.)
 * Requests on a connection already open pay nothing.
 */
export async function listen(
  listener: RequestListener,
  options: TransportOptions,
): Promise<Transport> {
  if (options.handshakeDelayMs === 0) {
    const server = createHttpServer(listener);
    server.keepAliveTimeout = KEEP_ALIVE_MS;
    const port = await bind(server, options);
    return {
      protocol: 'http',
      port,
      ca: undefined,
      close: () => closeServer(server, () => server.closeAllConnections()),
    };
  }

  // The HTTPS server never listens: the front server hands it each raw socket once the delay
  // has passed. The socket is paused until then, so the ClientHello waits in its buffer.
  const tls = createHttpsServer({ cert: TEST_CERTIFICATE, key: TEST_PRIVATE_KEY }, listener);
  tls.keepAliveTimeout = KEEP_ALIVE_MS;
  const sockets = new Set<Socket>();
  const front = createNetServer({ pauseOnConnect: true }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    const timer = options.clock.setTimeout(() => {
      if (!socket.destroyed) tls.emit('connection', socket);
    }, options.handshakeDelayMs);
    socket.once('close', () => {
      options.clock.clearTimeout(timer);
      sockets.delete(socket);
    });
  });
  const port = await bind(front, options);
  return {
    protocol: 'https',
    port,
    ca: TEST_CERTIFICATE,
    // Destroying the raw socket also ends the TLS connection over it.
    close: () =>
      closeServer(front, () => {
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/** Stops `server` listening; `drop` ends its connections, so the close can finish. */
function closeServer(server: Server, drop: () => void): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    drop();
  });
}

async function bind(server: Server, options: TransportOptions): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}
