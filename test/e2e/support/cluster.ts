/**
 * The end-to-end suite's handle on the cluster under test.
 *
 * Guarantees:
 * - every call, through client-node or kubectl, goes to the kubeconfig's current context, and
 *   that context is a kind cluster (`kind-*`) unless NETFENCE_E2E_ANY_CLUSTER=1: the suite
 *   installs the operator and runs privileged host-network pods, so it refuses to touch a
 *   cluster that is not obviously a throwaway one;
 * - kubectl runs as a child process with a deadline, and its exit code, standard output and
 *   standard error all come back (a failed command is a value, not an exception, so callers
 *   can assert on refusals);
 * - waits poll with a deadline and, when it passes, say what they waited for and the last
 *   state they saw.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { messageOf, statusOf } from '../../fixtures/api-errors.js';
import { parseAllDocuments } from 'yaml';

/** Re-exported for the suites: how failed client-node calls read. */
export { messageOf, statusOf };

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The field manager of every object the suite applies. */
export const FIELD_MANAGER = 'netfence-e2e';

/** Set to 1 to run against a context that is not a kind cluster. */
export const ANY_CLUSTER_ENV = 'NETFENCE_E2E_ANY_CLUSTER';

function isSet(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

/** The default kubeconfig ($KUBECONFIG, else ~/.kube/config), checked to point at a kind cluster. */
export function loadKubeConfig(): KubeConfig {
  const config = new KubeConfig();
  config.loadFromDefault();
  const context = config.getCurrentContext();
  if (!context.startsWith('kind-') && !isSet(process.env[ANY_CLUSTER_ENV])) {
    throw new Error(
      `the current kubeconfig context is "${context}", not a kind cluster (kind-*): the e2e suite installs netfence and runs ` +
        `privileged host-network pods, so it only runs on a throwaway cluster. See test/e2e/README.md, or set ${ANY_CLUSTER_ENV}=1.`,
    );
  }
  return config;
}

export interface CommandResult {
  /** The command line, for messages. */
  command: string;
  /** Exit code; null when the process was killed (see timedOut). */
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** One line saying how a command ended, with its output, for assertion messages. */
export function describeResult(result: CommandResult): string {
  const ending = result.timedOut ? 'timed out' : `exit code ${result.code}`;
  const out = result.stdout.trim();
  const err = result.stderr.trim();
  return `\`${result.command}\`: ${ending}${out ? `\n  stdout: ${out}` : ''}${err ? `\n  stderr: ${err}` : ''}`;
}

/**
 * Runs kubectl against `context` (always passed explicitly, so kubectl and client-node cannot
 * disagree on the cluster). Never rejects for a non-zero exit: the caller reads `code`.
 */
export function kubectl(context: string, args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
  const fullArgs = ['--context', context, ...args];
  const command = `kubectl ${fullArgs.join(' ')}`;
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolveResult, reject) => {
    const child = spawn('kubectl', fullArgs, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`could not run kubectl (is it on PATH?): ${error.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveResult({ command, code, stdout, stderr, timedOut });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** kubectl that must succeed: resolves with its standard output, rejects with everything it said. */
export async function kubectlOk(context: string, args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const result = await kubectl(context, args, options);
  if (result.code !== 0) throw new Error(`kubectl failed: ${describeResult(result)}`);
  return result.stdout;
}

/** Server-side apply with force, as `kubectl apply --server-side --force-conflicts` does. */
export async function serverSideApply<T extends KubernetesObject>(config: KubeConfig, object: T): Promise<T> {
  try {
    return await KubernetesObjectApi.makeApiClient(config).patch(object, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
  } catch (error) {
    const where = [object.metadata?.namespace, object.metadata?.name].filter(Boolean).join('/');
    throw new Error(`server-side apply of ${object.kind} ${where} failed (HTTP ${statusOf(error) ?? '-'}): ${messageOf(error)}`, { cause: error });
  }
}

/** Every non-empty document of a YAML file in the repository, in order. */
export function readManifests(relativePath: string): KubernetesObject[] {
  const text = readFileSync(join(REPO_ROOT, relativePath), 'utf8');
  return parseAllDocuments(text)
    .map((document, index) => {
      if (document.errors.length > 0) throw new Error(`${relativePath}, document ${index + 1}: ${document.errors.map((e) => e.message).join('; ')}`);
      return document.toJS() as unknown;
    })
    .filter((object): object is KubernetesObject => object !== null && typeof object === 'object');
}

/** The documents of every .yaml and .yml file directly in a folder of the repository, files in name order. */
export function readManifestFolder(relativeDir: string): KubernetesObject[] {
  return readdirSync(join(REPO_ROOT, relativeDir))
    .filter((name) => name.endsWith('.yaml') || name.endsWith('.yml'))
    .sort()
    .flatMap((name) => readManifests(join(relativeDir, name)));
}

export const sleep = (ms: number): Promise<void> => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

/**
 * Polls `probe` until it returns something other than undefined, and returns that. The probe
 * may call `note` with the state it saw; the timeout error repeats the last note and the last
 * error thrown, so a failed wait says where things stood.
 */
export async function eventually<T>(
  what: string,
  probe: (note: (state: string) => void) => Promise<T | undefined>,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const intervalMs = options.intervalMs ?? 1_000;
  const deadline = Date.now() + timeoutMs;
  let lastState = '';
  let lastError: unknown;
  const note = (state: string): void => {
    lastState = state;
  };
  for (;;) {
    try {
      const value = await probe(note);
      if (value !== undefined) return value;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) break;
    await sleep(intervalMs);
  }
  const parts = [`timed out after ${timeoutMs / 1000} s waiting until ${what}`];
  if (lastState) parts.push(`last seen: ${lastState}`);
  if (lastError !== undefined) parts.push(`last error: ${messageOf(lastError)}`);
  throw new Error(parts.join('; '));
}
