/**
 * Small builders for structural OpenAPI v3 schemas. Every builder takes the description first, so no field can
 * be left undocumented for `kubectl explain`. CEL rules carry messages that name the rule in user terms.
 */
export type Schema = { [k: string]: unknown };

export interface Rule {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

const withRules = (s: Schema, rules?: Rule[]): Schema =>
  rules?.length ? { ...s, 'x-kubernetes-validations': rules } : s;

export const str = (description: string, extra: Schema = {}, rules?: Rule[]): Schema =>
  withRules({ type: 'string', description, maxLength: 253, ...extra }, rules);

export const int = (description: string, extra: Schema = {}, rules?: Rule[]): Schema =>
  withRules({ type: 'integer', format: 'int32', description, ...extra }, rules);

export const bool = (description: string, extra: Schema = {}): Schema => ({ type: 'boolean', description, ...extra });

export const arr = (description: string, items: Schema, extra: Schema = {}, rules?: Rule[]): Schema =>
  withRules({ type: 'array', description, maxItems: 64, items, ...extra }, rules);

export const obj = (
  description: string,
  properties: Record<string, Schema>,
  required: string[] = [],
  rules?: Rule[],
  extra: Schema = {},
): Schema =>
  withRules({ type: 'object', description, properties, ...(required.length ? { required } : {}), ...extra }, rules);

/** A Kubernetes object name (DNS-1123 subdomain). */
export const name = (description: string): Schema =>
  str(description, {
    minLength: 1,
    maxLength: 253,
    pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
  });

/** A DNS label (namespace names, port names). */
export const label = (description: string): Schema =>
  str(description, { minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' });

export const ip = (description: string, family?: 4 | 6): Schema =>
  str(description, { maxLength: 45 }, [
    family
      ? { rule: `isIP(self) && ip(self).family() == ${family}`, message: `must be an IPv${family} address` }
      : { rule: 'isIP(self)', message: 'must be an IPv4 or IPv6 address' },
  ]);

/** A CIDR whose host bits are zero (`10.16.0.0/16`, not `10.16.0.5/16`). */
export const cidr = (description: string, family?: 4 | 6): Schema =>
  str(description, { maxLength: 49 }, [
    {
      rule: `isCIDR(self) && cidr(self) == cidr(self).masked()${family ? ` && cidr(self).ip().family() == ${family}` : ''}`,
      message: `must be ${family ? `an IPv${family}` : 'a'} CIDR with the host bits zero, e.g. ${family === 6 ? 'fd00:10::/64' : '10.16.0.0/16'}`,
    },
  ]);

export const mac = (description: string): Schema =>
  // The second hex digit even: a unicast address.
  str(description, { maxLength: 17, pattern: '^[0-9a-fA-F][02468aceACE](:[0-9a-fA-F]{2}){5}$' });

export const intOrString = (description: string): Schema => ({
  description,
  'x-kubernetes-int-or-string': true,
  anyOf: [{ type: 'integer' }, { type: 'string' }],
});

export const labelSelector = (description: string): Schema =>
  obj(
    description,
    {
      matchLabels: {
        type: 'object',
        description: 'Labels that must all match (key: value).',
        additionalProperties: { type: 'string' },
        'x-kubernetes-map-type': 'atomic',
      },
      matchExpressions: arr(
        'Set-based requirements, all of which must match.',
        obj(
          'A label requirement.',
          {
            key: str('The label key.', { maxLength: 317 }),
            operator: str('How the key relates to the values.', { enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] }),
            values: arr(
              'Values for In and NotIn; empty for Exists and DoesNotExist.',
              str('A label value.', { maxLength: 63 }),
            ),
          },
          ['key', 'operator'],
        ),
      ),
    },
    [],
    undefined,
    { 'x-kubernetes-map-type': 'atomic' },
  );

export const conditions = (): Schema =>
  arr(
    'Current state: each condition type at most once (metav1.Condition).',
    obj(
      'One aspect of the current state.',
      {
        type: str('Condition type, e.g. Ready.', { maxLength: 316 }),
        status: str('True, False or Unknown.', { enum: ['True', 'False', 'Unknown'] }),
        reason: str('CamelCase reason for the last transition.', { maxLength: 1024 }),
        message: str('Human-readable details.', { maxLength: 32768 }),
        lastTransitionTime: str('When status last changed.', { format: 'date-time' }),
        observedGeneration: int('metadata.generation the condition was set for.', { format: 'int64', minimum: 0 }),
      },
      ['type', 'status', 'reason', 'lastTransitionTime'],
    ),
    { maxItems: 16, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] },
  );

export const observedGeneration = (): Schema =>
  int('metadata.generation the controller last acted on.', { format: 'int64', minimum: 0 });

export interface CrdDefinition {
  kind: string;
  plural: string;
  singular: string;
  listKind?: string;
  namespaced: boolean;
  shortNames: string[];
  description: string;
  spec: Schema;
  status: Schema;
  printerColumns: Array<{ name: string; type: string; jsonPath: string; description: string; priority?: number }>;
  /** Rules on the whole object (e.g. fields that must agree across spec). */
  rules?: Rule[];
}

/** A CustomResourceDefinition object for the definition. */
export function crdObject(d: CrdDefinition, group: string, version: string): Schema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${d.plural}.${group}` },
    spec: {
      group,
      scope: d.namespaced ? 'Namespaced' : 'Cluster',
      names: {
        kind: d.kind,
        listKind: d.listKind ?? `${d.kind}List`,
        plural: d.plural,
        singular: d.singular,
        shortNames: d.shortNames,
        categories: ['ycloud'],
      },
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            ...d.printerColumns,
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since creation.' },
          ],
          schema: {
            openAPIV3Schema: withRules(
              {
                type: 'object',
                description: d.description,
                required: ['spec'],
                properties: {
                  apiVersion: str('Versioned schema of this object: sdn.ycloud.io/v1alpha1.'),
                  kind: str(`Always ${d.kind}.`),
                  metadata: { type: 'object' },
                  spec: d.spec,
                  status: d.status,
                },
              },
              d.rules,
            ),
          },
        },
      ],
    },
  };
}

/** Paths of schema nodes without a description (empty when every field is documented). */
export function undocumented(s: Schema, path = ''): string[] {
  const out: string[] = [];
  if (typeof s.description !== 'string' || s.description.length === 0) out.push(path || '(root)');
  const props = s.properties as Record<string, Schema> | undefined;
  // metadata may carry nothing but its type (the apiserver documents it).
  for (const [k, v] of Object.entries(props ?? {}))
    if (!(path === '' && k === 'metadata')) out.push(...undocumented(v, `${path}.${k}`));
  const items = s.items as Schema | undefined;
  if (items && items.type === 'object') out.push(...undocumented(items, `${path}[]`));
  return out;
}
