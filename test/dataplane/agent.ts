/**
 * The process that plays a pod's containers in the dataplane suite: started inside the pod's
 * network namespace (`ip netns exec POD node agent.ts NAME SPEC`), it serves the listeners of
 * SPEC and, on request, opens connections from there. Node runs this TypeScript source as it
 * is, so it imports nothing but Node's own modules and uses only erasable syntax.
 *
 * Listeners answer every TCP connection and every UDP datagram with `NAME\n`, so a probe knows
 * which listener it reached (a reply from anything else is `broken`, never `connected`).
 *
 * Protocol, one JSON object per line:
 * - out, once every listener is bound: {"ready": true}, or {"ready": false, "error": "..."}
 *   followed by exit 1;
 * - in: {"id": N, "proto": "tcp"|"udp", "host": "10.0.1.10", "port": 80, "timeoutMs": 800,
 *   "from"?: "93.184.216.34"} (from = the local address to send from);
 * - out: {"id": N, "outcome": "connected"|"refused"|"timed-out"|"unreachable"|"broken",
 *   "peer"?: "x/a", "detail"?: "...", "ms": 3}.
 * Every probe is bounded by its timeoutMs (at most 10 s); the agent exits when stdin closes.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

interface Listener {
  proto: 'tcp' | 'udp';
  host: string;
  port: number;
}

interface ProbeRequest {
  id: number;
  proto: 'tcp' | 'udp';
  host: string;
  port: number;
  timeoutMs: number;
  from?: string;
}

type Outcome = 'connected' | 'refused' | 'timed-out' | 'unreachable' | 'broken';

interface ProbeResult {
  id: number;
  outcome: Outcome;
  peer?: string;
  detail?: string;
  ms: number;
}

const MAX_TIMEOUT_MS = 10_000;

const name = process.argv[2] ?? '';
const listeners = JSON.parse(process.argv[3] ?? '[]') as Listener[];

function send(message: object): void {
  process.stdout.write(JSON.stringify(message) + '\n');
}

function listen(listener: Listener): Promise<void> {
  return new Promise((resolve, reject) => {
    if (listener.proto === 'tcp') {
      const server = createServer((socket) => {
        socket.on('error', () => undefined);
        socket.end(`${name}\n`);
      });
      server.once('error', reject);
      server.listen({ host: listener.host, port: listener.port, exclusive: true }, () => resolve());
      return;
    }
    const socket = createSocket({ type: 'udp4' });
    socket.once('error', reject);
    socket.on('message', (_message, remote) => socket.send(`${name}\n`, remote.port, remote.address));
    socket.bind({ address: listener.host, port: listener.port, exclusive: true }, () => resolve());
  });
}

function classify(error: NodeJS.ErrnoException): Outcome {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'unreachable';
    default:
      return 'broken';
  }
}

function probeTcp(request: ProbeRequest, timeoutMs: number): Promise<Omit<ProbeResult, 'id' | 'ms'>> {
  return new Promise((resolve) => {
    let settled = false;
    let received = '';
    const options = { host: request.host, port: request.port, ...(request.from ? { localAddress: request.from } : {}) };
    const socket: Socket = connect(options);
    const finish = (result: Omit<ProbeResult, 'id' | 'ms'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ outcome: 'timed-out' }), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (received.includes('\n')) {
        const peer = received.slice(0, received.indexOf('\n'));
        finish(peer ? { outcome: 'connected', peer } : { outcome: 'broken', detail: 'an empty greeting' });
      }
    });
    socket.on('end', () => finish({ outcome: 'broken', detail: `closed after ${JSON.stringify(received)}` }));
    socket.on('error', (error: NodeJS.ErrnoException) => finish({ outcome: classify(error), detail: error.code ?? error.message }));
  });
}

function probeUdp(request: ProbeRequest, timeoutMs: number): Promise<Omit<ProbeResult, 'id' | 'ms'>> {
  return new Promise((resolve) => {
    let settled = false;
    const socket: UdpSocket = createSocket({ type: 'udp4' });
    const finish = (result: Omit<ProbeResult, 'id' | 'ms'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.close();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ outcome: 'timed-out' }), timeoutMs);
    // A connected socket hears the ICMP port unreachable a REJECT sends, as ECONNREFUSED.
    socket.on('error', (error: NodeJS.ErrnoException) => finish({ outcome: classify(error), detail: error.code ?? error.message }));
    socket.on('message', (message) => {
      const peer = message.toString('utf8').split('\n')[0] ?? '';
      finish(peer ? { outcome: 'connected', peer } : { outcome: 'broken', detail: 'an empty reply' });
    });
    const start = (): void =>
      socket.connect(request.port, request.host, () => {
        socket.send('probe\n', (error) => {
          if (error) finish({ outcome: classify(error), detail: (error as NodeJS.ErrnoException).code ?? error.message });
        });
      });
    if (request.from) socket.bind({ address: request.from, port: 0 }, start);
    else start();
  });
}

async function probe(request: ProbeRequest): Promise<ProbeResult> {
  const started = performance.now();
  const timeoutMs = Math.min(Math.max(1, request.timeoutMs), MAX_TIMEOUT_MS);
  let result: Omit<ProbeResult, 'id' | 'ms'>;
  try {
    result = request.proto === 'tcp' ? await probeTcp(request, timeoutMs) : await probeUdp(request, timeoutMs);
  } catch (error) {
    result = { outcome: 'broken', detail: String(error) };
  }
  return { id: request.id, ...result, ms: Math.round(performance.now() - started) };
}

async function main(): Promise<void> {
  try {
    for (const listener of listeners) await listen(listener);
  } catch (error) {
    send({ ready: false, error: String(error) });
    process.exit(1);
  }
  send({ ready: true });
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (!line.trim()) return;
    let request: ProbeRequest;
    try {
      request = JSON.parse(line) as ProbeRequest;
    } catch {
      send({ id: -1, outcome: 'broken', detail: `not JSON: ${line}`, ms: 0 });
      return;
    }
    void probe(request).then(send);
  });
  lines.on('close', () => process.exit(0));
}

void main();
