/**
 * A forwarding proxy between one client and the API server, for suites that must see which
 * requests reached the server and when: plain HTTP on 127.0.0.1 towards the client, HTTPS
 * (the control plane's CA) towards the API server, every header passed through (the bearer
 * token too, so the API server sees the client's own identity and RBAC).
 *
 * - Every request is logged: method, path, when it arrived, and when it was forwarded, or
 *   that it was dropped because the client closed its connection first.
 * - `hold(match, ms)`: a request `match` accepts waits `ms` before it is forwarded, and is
 *   forwarded only if the client has not given it up meanwhile. It stands for a request in
 *   transit to a slow server: one the client aborts in time never takes effect.
 * - Watches and other streamed responses are piped through; a client that goes away closes
 *   the upstream request too.
 * Leaves out: HTTP/2, upgrades (exec, port-forward), TLS towards the client.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';

export interface ProxiedRequest {
  method: string;
  /** Path and query. */
  url: string;
  arrivedAt: number;
  /** When it was sent on to the API server; undefined when it never was. */
  forwardedAt?: number;
  /** When the client gave it up (closed its connection) before it was forwarded. */
  droppedAt?: number;
  held: boolean;
}

export type Match = (method: string, url: string) => boolean;

export interface ApiProxy {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  log: ProxiedRequest[];
  /** Holds the requests `match` accepts for `ms` (replacing any earlier rule); `hold(undefined)` holds nothing. */
  hold(match: Match | undefined, ms?: number): void;
  close(): Promise<void>;
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Writes to NetworkPolicies, Namespaces (the member label), Events and TenantIsolation status. */
export const operatorWrites: Match = (method, url) => WRITES.has(method) && /\/(networkpolicies|namespaces\/[^/?]+(\?|$)|events|tenantisolations\/[^/?]+\/status)/.test(url);

/** A proxy in front of the API server `identity` talks to (its cluster's server and CA). */
export function startApiProxyFor(identity: KubeConfig): Promise<ApiProxy> {
  const current = identity.getCurrentCluster();
  if (!current) throw new Error('the kubeconfig names no cluster');
  return startApiProxy({ server: current.server, caPem: Buffer.from(current.caData ?? '', 'base64').toString() });
}

/** Writes to `file` a kubeconfig that reaches the API server through `proxy` with `identity`'s token. */
export function writeProxiedKubeconfig(file: string, proxy: ApiProxy, identity: KubeConfig): void {
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'via-proxy', cluster: { server: proxy.url } }],
      users: [{ name: 'operator', user: { token: identity.getCurrentUser()?.token } }],
      contexts: [{ name: 'operator', context: { cluster: 'via-proxy', user: 'operator' } }],
      'current-context': 'operator',
    }),
    { mode: 0o600 },
  );
}

export async function startApiProxy(target: { server: string; caPem: string }): Promise<ApiProxy> {
  const upstream = new URL(target.server);
  const agent = new Agent({ keepAlive: true, ca: target.caPem });
  const log: ProxiedRequest[] = [];
  let rule: { match: Match; ms: number } | undefined;
  const holds = new Set<NodeJS.Timeout>();

  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer, entry: ProxiedRequest) => {
    entry.forwardedAt = Date.now();
    const headers = { ...req.headers, host: upstream.host };
    const out = httpsRequest({ protocol: upstream.protocol, hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on('error', () => res.destroy());
    res.on('close', () => out.destroy());
    out.end(body);
  };

  const server: Server = createServer((req, res) => {
    const entry: ProxiedRequest = { method: req.method ?? '', url: req.url ?? '', arrivedAt: Date.now(), held: false };
    log.push(entry);
    res.on('close', () => {
      if (!res.writableFinished && entry.forwardedAt === undefined) entry.droppedAt = Date.now();
    });
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const holding = rule && rule.match(entry.method, entry.url) ? rule.ms : 0;
      if (holding === 0) return forward(req, res, body, entry);
      entry.held = true;
      const timer = setTimeout(() => {
        holds.delete(timer);
        if (entry.droppedAt !== undefined || req.socket.destroyed) {
          entry.droppedAt ??= Date.now();
          return;
        }
        forward(req, res, body, entry);
      }, holding);
      holds.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    hold(match, ms = 0) {
      rule = match ? { match, ms } : undefined;
    },
    async close() {
      for (const timer of holds) clearTimeout(timer);
      holds.clear();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      agent.destroy();
    },
  };
}
