import { parseControllerConfig } from '@ycloud/api';
import { repoRoot } from '@ycloud/testbed/k8s';
import { run } from '@ycloud/testbed/process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';

/* eslint-disable @typescript-eslint/no-explicit-any -- the compose model is untyped YAML */

const root = repoRoot();

/** Docker's compose model as `docker-compose config` resolves it (anchors, merges, defaults, paths). */
async function resolvedCompose(): Promise<any> {
  const env = { ...process.env };
  delete env.YCLOUD_KUBECONFIG;
  delete env.COMPOSE_FILE;
  const r = await run(
    'docker-compose',
    ['--project-directory', root, '-f', path.join(root, 'docker-compose.yml'), 'config'],
    {
      env,
      timeoutMs: 60_000,
    },
  );
  return parseYaml(r.stdout);
}

const volumeAt = (svc: any, target: string): string | undefined =>
  (svc.volumes as string[] | undefined)?.map((v) => v.split(':')).find((p) => p[1] === target)?.[0];

describe('docker-compose.yml (checked with docker-compose config, no engine)', () => {
  let compose: any;
  beforeAll(async () => {
    compose = await resolvedCompose();
  });

  it('defines the OVN central, one OVS node, the controller and the agent', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['agent', 'controller', 'ovn-central', 'ovs-node']);
    for (const name of ['controller', 'agent']) expect(compose.services[name].image).toBe('ycloud/ycloud:dev');
    for (const name of ['ovn-central', 'ovs-node']) expect(compose.services[name].image).toBe('ycloud/ovn:dev');
    for (const svc of Object.values<any>(compose.services).filter((s) => s.build)) {
      expect(existsSync(path.join(svc.build.context, svc.build.dockerfile))).toBe(true);
    }
  });

  it('points the controller at the Northbound database and the node at the Southbound one', () => {
    const { controller, 'ovs-node': node, 'ovn-central': central } = compose.services;
    const configFile = volumeAt(controller, '/etc/ycloud/config.yaml');
    expect(configFile).toBeDefined();
    const config = parseControllerConfig(parseYaml(readFileSync(configFile!, 'utf8')));
    expect(config.nbRemote).toBe('tcp:ovn-central:6641');
    expect(node.environment.OVN_REMOTE).toBe('tcp:ovn-central:6642');
    expect(central.healthcheck.test).toEqual(['CMD', 'ovsdb-client', 'list-dbs', 'tcp:127.0.0.1:6641']);
    expect(controller.depends_on['ovn-central'].condition).toBe('service_healthy');
    expect(node.depends_on['ovn-central'].condition).toBe('service_healthy');
    expect(controller.environment.KUBECONFIG).toBe('/etc/ycloud/kubeconfig');
    expect(volumeAt(controller, '/etc/ycloud/kubeconfig')).toMatch(/kubeconfig$/);
  });

  it('runs the agent in the OVS node network namespace with its OVS/OVN sockets and CNI dirs', () => {
    const { agent, 'ovs-node': node } = compose.services;
    expect(agent.network_mode).toBe('service:ovs-node');
    expect(agent.privileged).toBe(true);
    for (const dir of ['/var/run/openvswitch', '/var/run/ovn', '/var/run/netns']) {
      expect(volumeAt(agent, dir)).toBeDefined();
      expect(volumeAt(agent, dir)).toBe(volumeAt(node, dir));
    }
    for (const dir of ['/opt/cni/bin', '/etc/cni/net.d', '/run/ycloud']) expect(volumeAt(agent, dir)).toBeDefined();
    expect(agent.environment.NODE_NAME).toBe(node.environment.OVN_SYSTEM_ID);
  });

  it('builds ycloud in two stages and OVN from Debian bookworm packages', async () => {
    const app = readFileSync(path.join(root, 'docker/Dockerfile'), 'utf8');
    const froms = [...app.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)].map((m) => m[1]);
    expect(froms).toEqual(['node:20-bookworm', 'node:20-bookworm-slim']);
    expect(app).toMatch(/COPY --from=build \/src\/dist dist/);
    const ovn = readFileSync(path.join(root, 'docker/ovn.Dockerfile'), 'utf8');
    expect(ovn).toMatch(/^FROM debian:bookworm$/m);
    expect(ovn).toMatch(/ovn-central ovn-host openvswitch-switch/);
    await run('sh', ['-n', path.join(root, 'docker/ovn-entrypoint.sh')]);
  });
});
