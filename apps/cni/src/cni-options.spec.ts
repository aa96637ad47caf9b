import { cniAppOptions } from './cni-options';

describe('cniAppOptions', () => {
  it('names the node by --node-name, else by $NODE_NAME, and fails without either', () => {
    expect(cniAppOptions([], { NODE_NAME: 'node-7' }).config.nodeName).toBe('node-7');
    expect(cniAppOptions(['--node-name', 'node-1'], { NODE_NAME: 'node-7' }).config.nodeName).toBe('node-1');
    expect(() => cniAppOptions([], {})).toThrow('config: nodeName is required (--node-name)');
  });

  it('takes the in-cluster API server from the environment it is given, and nothing else', () => {
    const o = cniAppOptions(['--node-name=node-1'], {
      KUBERNETES_SERVICE_HOST: 'fd00::1',
      KUBERNETES_SERVICE_PORT: '6443',
      HOME: '/root',
    });
    expect(o.inCluster).toEqual({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' });
    expect(o.config.kubeconfig).toBe('');
  });
});
