/**
 * A process that makes a dataplane network (two pods with agents, two recorded root processes,
 * one of them a chain of execs)
 * and then waits to be killed: the harness suite SIGKILLs it and checks that the watchdog
 * leaves nothing behind. Prints one JSON line once everything runs.
 */
import { spawn } from 'node:child_process';
import { Agent, Network } from '../network.js';

const network = Network.create();
const a = network.addPod('crash/a', '10.0.200.1');
const b = network.addPod('crash/b', '10.0.200.2');
const agents = [await Agent.start(a.netns, 'crash/a', [{ proto: 'tcp', port: 80 }]), await Agent.start(b.netns, 'crash/b', [{ proto: 'tcp', port: 80 }])];
const root = spawn('sleep', ['600'], { stdio: 'ignore', detached: true });
network.recordProcess('sleep', root);
// As `netfence run` is started from the image: a chain of execs, whose argv[0] changes.
const chained = spawn('sh', ['-c', 'exec sleep 601'], { stdio: 'ignore', detached: true });
network.recordProcess('exec chain', chained);
const reached = await agents[1]!.probe('tcp', a.ip, 80);
process.stdout.write(
  JSON.stringify({
    dir: network.dir,
    namespaces: network.state.namespaces,
    agentPids: agents.map((agent) => agent.process.pid),
    rootPid: root.pid,
    chainedPid: chained.pid,
    reached: reached.outcome,
  }) + '\n',
);
setInterval(() => undefined, 1000);
