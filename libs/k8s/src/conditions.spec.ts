import { getCondition, patchStatusCondition, setCondition } from './conditions';
import { KubeApiError, KubeClient } from './kube-client';
import { resourceType } from './resource';

const t1 = new Date('2026-01-01T00:00:00.123Z');
const t2 = new Date('2026-01-01T00:05:00Z');

describe('setCondition', () => {
  it('adds a condition with a transition time', () => {
    const r = setCondition(
      undefined,
      { type: 'Ready', status: 'True', reason: 'Programmed', message: 'ok', observedGeneration: 3 },
      t1,
    );
    expect(r.changed).toBe(true);
    expect(r.conditions).toEqual([
      {
        type: 'Ready',
        status: 'True',
        reason: 'Programmed',
        message: 'ok',
        observedGeneration: 3,
        lastTransitionTime: '2026-01-01T00:00:00Z',
      },
    ]);
  });

  it('is a no-op when nothing changed', () => {
    const first = setCondition(
      undefined,
      { type: 'Ready', status: 'True', reason: 'R', message: 'm', observedGeneration: 1 },
      t1,
    );
    const again = setCondition(
      first.conditions,
      { type: 'Ready', status: 'True', reason: 'R', message: 'm', observedGeneration: 1 },
      t2,
    );
    expect(again.changed).toBe(false);
    expect(again.conditions).toEqual(first.conditions);
  });

  it('keeps lastTransitionTime when only reason/message/generation change', () => {
    const first = setCondition(
      undefined,
      { type: 'Ready', status: 'False', reason: 'A', message: 'a', observedGeneration: 1 },
      t1,
    );
    const next = setCondition(
      first.conditions,
      { type: 'Ready', status: 'False', reason: 'B', message: 'b', observedGeneration: 2 },
      t2,
    );
    expect(next.changed).toBe(true);
    expect(getCondition(next.conditions, 'Ready')).toMatchObject({
      reason: 'B',
      observedGeneration: 2,
      lastTransitionTime: '2026-01-01T00:00:00Z',
    });
  });

  it('moves lastTransitionTime when status changes, leaving other types alone', () => {
    let c = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'A', message: 'a' }, t1).conditions;
    c = setCondition(c, { type: 'Degraded', status: 'False', reason: 'A', message: 'a' }, t1).conditions;
    c = setCondition(c, { type: 'Ready', status: 'True', reason: 'A', message: 'a' }, t2).conditions;
    expect(c.map((x) => [x.type, x.status, x.lastTransitionTime])).toEqual([
      ['Ready', 'True', '2026-01-01T00:05:00Z'],
      ['Degraded', 'False', '2026-01-01T00:00:00Z'],
    ]);
  });
});

describe('patchStatusCondition', () => {
  const rt = resourceType('ycloud.io', 'v1alpha1', 'vpcs', 'Vpc', false);

  function fakeClient(obj: object, patchErrors: unknown[] = []) {
    const patches: Array<{ path: string; body: unknown }> = [];
    const client = {
      get: async () => JSON.parse(JSON.stringify(obj)),
      mergePatch: async (_rt: unknown, _ns: unknown, name: string, body: unknown, sub?: string) => {
        patches.push({ path: `${name}/${sub}`, body });
        const e = patchErrors.shift();
        if (e) throw e;
        return {};
      },
    } as unknown as KubeClient;
    return { client, patches };
  }

  it('merge-patches the status subresource with the read resourceVersion and generation', async () => {
    const { client, patches } = fakeClient({
      metadata: { name: 'v', resourceVersion: '7', generation: 4 },
      status: {},
    });
    expect(
      await patchStatusCondition(
        client,
        rt,
        undefined,
        'v',
        { type: 'Ready', status: 'True', reason: 'R', message: 'm' },
        () => t1,
      ),
    ).toBe(true);
    expect(patches).toEqual([
      {
        path: 'v/status',
        body: {
          metadata: { resourceVersion: '7' },
          status: {
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'R',
                message: 'm',
                observedGeneration: 4,
                lastTransitionTime: '2026-01-01T00:00:00Z',
              },
            ],
          },
        },
      },
    ]);
  });

  it('writes nothing when the condition is already set', async () => {
    const cond = {
      type: 'Ready',
      status: 'True',
      reason: 'R',
      message: 'm',
      observedGeneration: 4,
      lastTransitionTime: 'x',
    };
    const { client, patches } = fakeClient({ metadata: { name: 'v', generation: 4 }, status: { conditions: [cond] } });
    expect(
      await patchStatusCondition(client, rt, undefined, 'v', {
        type: 'Ready',
        status: 'True',
        reason: 'R',
        message: 'm',
      }),
    ).toBe(false);
    expect(patches).toEqual([]);
  });

  it('retries on a conflict and gives up on other errors', async () => {
    const { client, patches } = fakeClient({ metadata: { name: 'v' } }, [
      new KubeApiError(409, 'conflict', 'Conflict'),
    ]);
    await patchStatusCondition(client, rt, undefined, 'v', {
      type: 'Ready',
      status: 'True',
      reason: 'R',
      message: 'm',
    });
    expect(patches).toHaveLength(2);
    const bad = fakeClient({ metadata: { name: 'v' } }, [new KubeApiError(422, 'invalid')]);
    await expect(
      patchStatusCondition(bad.client, rt, undefined, 'v', {
        type: 'Ready',
        status: 'True',
        reason: 'R',
        message: 'm',
      }),
    ).rejects.toThrow('invalid');
  });
});
