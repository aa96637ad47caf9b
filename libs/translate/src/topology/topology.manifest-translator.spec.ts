import { parseManifests } from '../manifests/manifest-loader';
import { serviceManifestTranslator } from '../manifests/service.manifest-translator';
import { translateManifests } from '../manifests/translate-manifests';
import { topologyManifestTranslator } from './topology.manifest-translator';

const manifests = `
apiVersion: sdn.ycloud.io/v1alpha1
kind: Vpc
metadata: { name: tenant-a }
spec: { namespaces: [team-a] }
---
apiVersion: sdn.ycloud.io/v1alpha1
kind: Subnet
metadata: { name: a1 }
spec: { vpc: tenant-a, cidrBlocks: [10.20.0.0/24] }
---
apiVersion: sdn.ycloud.io/v1alpha1
kind: Subnet
metadata: { name: broken }
spec: { vpc: nowhere, cidrBlocks: [10.30.0.0/24] }
`;

describe('topologyManifestTranslator', () => {
  it('translates the topology, adds the default VPC and reports invalid objects as warnings', () => {
    const out = translateManifests(parseManifests(manifests, 'test.yaml'), {}, [
      topologyManifestTranslator,
      serviceManifestTranslator,
    ]);
    expect(out.tables.Logical_Router.map((r) => r.key)).toEqual(['vpc/default/router', 'vpc/tenant-a/router']);
    expect(out.tables.Logical_Switch.map((r) => r.key)).toEqual([
      'subnet/a1/switch',
      'subnet/default/switch',
      'subnet/join/switch',
    ]);
    expect(out.warnings).toEqual([
      { object: 'Subnet/broken', field: 'spec.vpc', message: 'VpcNotFound: Vpc nowhere does not exist' },
    ]);
  });
});
