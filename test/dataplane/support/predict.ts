/**
 * What `netfence explain --live` predicts for one probe, asked in-process (runCli, the code
 * the CLI runs) against the suite's API server with the admin identity: the cluster as it is,
 * policies taken as they are.
 */
import { runCli } from '../../../src/cli/main.js';
import type { Proto } from '../network.js';

export type Verdict = 'allowed' | 'denied';

/** FROM and TO as explain takes them: namespace/pod, or an IP address outside the cluster. */
export async function explainLive(kubeconfig: string, from: string, to: string, port: number, proto: Proto): Promise<Verdict> {
  let stdout = '';
  let stderr = '';
  const io = { stdout: (t: string) => void (stdout += t), stderr: (t: string) => void (stderr += t), readStdin: () => '' };
  const code = await runCli(['explain', '--live', '--kubeconfig', kubeconfig, from, to, '--port', `${port}/${proto.toUpperCase()}`], io, { ...process.env, NO_COLOR: '1' });
  if (code === 0 && /verdict: allowed\n$/.test(stdout)) return 'allowed';
  if (code === 1 && /verdict: denied\n$/.test(stdout)) return 'denied';
  throw new Error(`netfence explain --live ${from} ${to} --port ${port}/${proto} exited ${code}: ${stderr}${stdout.slice(-500)}`);
}
