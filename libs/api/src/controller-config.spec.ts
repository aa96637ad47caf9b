import { DEFAULT_LOAD_BALANCER_CLASS } from './names';
import { ControllerConfigError, parseControllerConfig } from './controller-config';

describe('parseControllerConfig: eip.loadBalancerClass', () => {
  it("defaults to ycloud's own class", () => {
    expect(parseControllerConfig({}).eip.loadBalancerClass).toBe(DEFAULT_LOAD_BALANCER_CLASS);
    expect(parseControllerConfig({ eip: { defaultPool: 'ext' } }).eip.loadBalancerClass).toBe('ycloud.io/eip');
  });

  it('takes a prefixed name and rejects anything else, naming the key', () => {
    expect(parseControllerConfig({ eip: { loadBalancerClass: 'example.com/lb' } }).eip.loadBalancerClass).toBe(
      'example.com/lb',
    );
    for (const bad of ['lb', '', 'Example.com/lb', 42]) {
      expect(() => parseControllerConfig({ eip: { loadBalancerClass: bad } })).toThrow(ControllerConfigError);
      expect(() => parseControllerConfig({ eip: { loadBalancerClass: bad } })).toThrow(/eip\.loadBalancerClass/);
    }
  });
});
