import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { Command } from 'commander';
import { Sandbox, SandboxState, SimulatedKubelet, requireState, sandboxDir, parseServe } from '@ycloud/sandbox';
import { DEFAULT_OVN_SERIES, OVN_SERIES, testbedOptions } from '@ycloud/testbed';

const out = (line: string): void => void process.stdout.write(line + '\n');

/** `ycloud sandbox …`: a one-machine cluster with ycloud, and the kubelet's part for simulated pods. */
export function registerSandboxCommands(program: Command): void {
  const sandbox = program
    .command('sandbox')
    .description(`one-machine sandbox: Kubernetes + OVN + ycloud, simulated pods (state in ${displayDir()})`);

  sandbox
    .command('up')
    .description('start the sandbox in the foreground (Ctrl-C or `ycloud sandbox down` stops it)')
    .option('--nodes <names>', 'comma-separated node names', 'node-1')
    .option('--no-example', 'do not apply deploy/examples/hello.yaml')
    .option(
      '--ovn <series>',
      `OVN / Open vSwitch release: ${OVN_SERIES.join(' or ')} (default: $YCLOUD_OVN or ${DEFAULT_OVN_SERIES})`,
    )
    .action(async (o: { nodes: string; example: boolean; ovn?: string }) => {
      const t0 = Date.now();
      const sb = await Sandbox.up({
        ovn: o.ovn === undefined ? undefined : testbedOptions({ YCLOUD_OVN: o.ovn }).ovn,
        nodes: o.nodes.split(',').filter(Boolean),
        example: o.example ? undefined : null,
        log: (l) => out(`[sandbox] ${l}`),
      });
      out(summary(sb.state, ((Date.now() - t0) / 1000).toFixed(0)));
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          const dead = sb.deadChildren();
          if (dead.length) {
            out(`[sandbox] ${dead.join(', ')} exited (see ${path.join(sb.state.dir, 'logs')}); stopping`);
            resolve();
          }
        }, 2_000);
        const stop = (sig: string) => {
          out(`[sandbox] ${sig}: stopping`);
          clearInterval(timer);
          resolve();
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
      await sb.down();
    });

  sandbox
    .command('down')
    .description('stop the running sandbox and remove everything it created')
    .action(async () => {
      const r = await Sandbox.stopRunning();
      out(r === 'stopped' ? 'sandbox stopped' : 'no sandbox running');
    });

  sandbox
    .command('status')
    .description('what the sandbox runs')
    .option('--cluster-ip <namespace/name>', 'print only this Service`s ClusterIP')
    .action(async (o: { clusterIp?: string }) => {
      const s = await Sandbox.status();
      if (!s.running) {
        process.stderr.write('no sandbox running\n');
        process.exitCode = 3;
        return;
      }
      if (o.clusterIp) {
        const svc = s.services.find((v) => `${v.namespace}/${v.name}` === o.clusterIp);
        if (!svc) throw new Error(`no Service ${o.clusterIp}`);
        out(svc.clusterIP);
        return;
      }
      const st = s.state!;
      out(`sandbox up since ${st.startedAt} (pid ${st.pid}); kubeconfig ${st.kubeconfig}`);
      out(`  ${st.testbed.release ?? 'OVN / OVS release not recorded'}`);
      for (const p of s.processes) out(`  ${p.alive ? 'running' : 'DEAD   '} ${p.name} (pid ${p.pid})`);
      out('datapath (as each node agent reports it):');
      for (const n of s.nodes) {
        const d = n.datapath;
        const stale = n.agentAlive ? '' : '  (agent DEAD: this may be stale)';
        if (!d) {
          out(`  ${n.name}  not reported yet${stale}`);
          continue;
        }
        out(`  ${n.name}  YcloudDatapathReady=${d.status} ${d.reason} since ${d.since}${stale}`);
        for (const daemon of d.daemons) out(`    ${daemon}`);
      }
      out('services:');
      for (const v of s.services) {
        out(`  ${v.namespace}/${v.name}  ${v.clusterIP}  ${v.ports.join(',')}  ready endpoints: ${v.readyEndpoints}`);
      }
      out('pods:');
      for (const p of s.pods) {
        out(
          `  ${p.namespace}/${p.name}  ${p.ip}  on ${p.node}${p.servers ? `  serving ${p.servers.serve.join(',')}` : ''}`,
        );
      }
    });

  const pod = sandbox.command('pod').description('simulated pods (the kubelet part)');
  pod
    .command('create <name>')
    .description('create a pod: Pod object, netns plugged by the CNI plugin, servers answering with its name')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('--labels <k=v,...>', 'labels')
    .option('--node <node>', 'node (default: the first)')
    .option('--serve <proto:port>', 'tcp:PORT, http:PORT or udp:PORT (repeatable)', collect, [])
    .option('--not-ready', 'report the pod not Ready')
    .action(
      async (
        name: string,
        o: { namespace: string; labels?: string; node?: string; serve: string[]; notReady?: boolean },
      ) => {
        o.serve.forEach(parseServe);
        const kubelet = new SimulatedKubelet(await requireState());
        const p = await kubelet.createPod({
          name,
          namespace: o.namespace,
          labels: parseLabels(o.labels),
          node: o.node,
          serve: o.serve,
          ready: !o.notReady,
        });
        out(
          `pod ${p.namespace}/${p.name} on ${p.node}: ${p.ip}${p.servers ? ` serving ${p.servers.serve.join(', ')}` : ''}`,
        );
      },
    );
  pod
    .command('delete <name>')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .action(async (name: string, o: { namespace: string }) => {
      await new SimulatedKubelet(await requireState()).deletePod(o.namespace, name);
      out(`pod ${o.namespace}/${name} deleted`);
    });
  pod
    .command('ready <name> <value>')
    .description('set the pod Ready true|false (as a readiness probe would)')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .action(async (name: string, value: string, o: { namespace: string }) => {
      if (value !== 'true' && value !== 'false') throw new Error('ready: value must be true or false');
      await new SimulatedKubelet(await requireState()).setReady(o.namespace, name, value === 'true');
      out(`pod ${o.namespace}/${name} ready=${value}`);
    });
  pod.command('list').action(async () => {
    for (const p of await new SimulatedKubelet(await requireState()).listPods()) {
      out(`${p.namespace}/${p.name}  ${p.ip}  ${p.node}  ${p.netns}`);
    }
  });

  sandbox
    .command('exec [name] [cmd...]')
    .description(
      'run CMD in a pod`s network namespace (exec NAME -n NS -- CMD), a node`s host namespace (--host NODE -- CMD) ' +
        'or the external client namespace (--external -- CMD)',
    )
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('--host <node>', 'the node`s host network namespace')
    .option('--external', 'the external client namespace (outside the cluster)')
    .action(
      async (name: string | undefined, cmd: string[], o: { namespace: string; host?: string; external?: boolean }) => {
        const state = await requireState();
        let netns: string;
        let argv = cmd;
        if (o.host || o.external) {
          argv = name ? [name, ...cmd] : cmd;
          netns = o.external ? state.external.netns : new SimulatedKubelet(state).node(o.host).netns;
        } else {
          if (!name) throw new Error('exec: give a pod name, --host NODE or --external');
          netns = (await new SimulatedKubelet(state).pod(o.namespace, name)).netns;
        }
        if (!argv.length) throw new Error('exec: no command (put it after --)');
        process.exitCode = await runInherit('ip', ['netns', 'exec', netns, ...argv]);
      },
    );
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function parseLabels(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const kv of (text ?? '').split(',').filter(Boolean)) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new Error(`--labels: ${kv} is not key=value`);
    labels[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return labels;
}

function runInherit(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

function displayDir(): string {
  return process.env.YCLOUD_SANDBOX_DIR ? sandboxDir() : '.sandbox/';
}

function summary(s: SandboxState, seconds: string): string {
  const node = s.nodes[0].name;
  return [
    '',
    `ycloud sandbox is up (${seconds}s). It runs in this terminal; Ctrl-C or \`ycloud sandbox down\` stops it.`,
    `  kubeconfig:  ${s.kubeconfig}      (export KUBECONFIG=${s.kubeconfig}; kubectl get pods -A)`,
    `  apiserver:   ${s.apiServer}`,
    `  OVN NB:      ${s.testbed.nbRemote}`,
    `  OVN / OVS:   ${s.testbed.release ?? 'unknown'}`,
    `  nodes:       ${s.nodes.map((n) => `${n.name} (${n.ip}, netns ${n.netns})`).join(', ')}`,
    `  logs:        ${path.join(s.dir, 'logs')}/`,
    '',
    'Try (in another shell, from the repository root):',
    '  bin/ycloud sandbox status',
    '  bin/ycloud sandbox pod create client -n hello',
    '  CIP=$(bin/ycloud sandbox status --cluster-ip hello/hello)',
    '  for i in 1 2 3 4 5 6; do bin/ycloud sandbox exec client -n hello -- curl -s http://$CIP/; done',
    '  bin/ycloud sandbox pod ready hello-1 -n hello false',
    `  bin/ycloud sandbox exec --host ${node} -- curl -s http://$CIP/`,
    '  bin/ycloud sandbox exec --external -- ip addr',
    `  YCLOUD_JOURNAL_DB=${s.controller.journal} bin/ycloud journal --service hello/hello`,
    '  bin/ycloud sandbox down',
    '',
  ].join('\n');
}
