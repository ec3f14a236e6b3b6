/**
 * The operator's HTTP endpoints for the kubelet and Prometheus: `/healthz` (liveness),
 * `/readyz` (readiness) and `/metrics` (Prometheus text format).
 *
 * Guarantees: a check answers 200 `ok` when it returns true, else 503 with its reason (the
 * string it returned, or the message it threw); GET and HEAD only (405 otherwise); any
 * other path is 404. `close()` ends open keep-alive connections, so it never hangs.
 * Leaves out: TLS and authentication (the port is meant for the pod network, as the
 * kubelet probes and a ServiceMonitor reach it).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** true when fine; false or a reason when not. */
export type Check = () => boolean | string;

export interface HttpServerOptions {
  /** 0 picks a free port (tests). */
  port: number;
  /** Default all interfaces. */
  host?: string;
  registry: Registry;
  checks: { healthy: Check; ready: Check };
}

export interface HttpServer {
  /** The bound port (the real one when 0 was asked). */
  port: number;
  close(): Promise<void>;
}

export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const server = createServer((request, response) => {
    void handle(options, request, response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function handle(options: HttpServerOptions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  const send = (status: number, body: string, contentType = 'text/plain; charset=utf-8') => {
    response.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
    response.end(request.method === 'HEAD' ? undefined : body);
  };
  const routes: Record<string, () => Promise<void> | void> = {
    '/healthz': () => answerCheck(options.checks.healthy, send),
    '/readyz': () => answerCheck(options.checks.ready, send),
    '/metrics': async () => send(200, await options.registry.metrics(), options.registry.contentType),
  };
  const route = routes[path];
  if (!route) return send(404, 'not found\n');
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    return send(405, 'method not allowed\n');
  }
  try {
    await route();
  } catch (error) {
    send(500, `${error instanceof Error ? error.message : String(error)}\n`);
  }
}

function answerCheck(check: Check, send: (status: number, body: string) => void): void {
  let verdict: boolean | string;
  try {
    verdict = check();
  } catch (error) {
    verdict = error instanceof Error ? error.message : String(error);
  }
  if (verdict === true) send(200, 'ok\n');
  else send(503, `${verdict === false ? 'not ok' : verdict}\n`);
}
