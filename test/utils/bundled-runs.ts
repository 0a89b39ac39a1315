import { getQueueToken } from '@nestjs/bullmq';
import { bundleJobs, STEP_QUEUE, stepJob } from '@hookflow/queue';
import { FlowRepository, RunIntake } from '@hookflow/store';
import type { Queue } from 'bullmq';
import type { HookflowHarness } from './hookflow-harness';

/**
 * `count` runs of flow `slug` (bodies `{ n }`), stored as the API stores them (the first step
 * marked handed to the queue) and handed to the queue in one bundle job, as the API does for
 * webhooks that arrive together. Returns the run ids.
 */
export async function bundledRuns(hf: HookflowHarness, slug: string, count: number): Promise<string[]> {
  const stored = (await hf.api.get(FlowRepository).findBySlug(slug))!;
  const runs = hf.api.get(RunIntake);
  const steps = stored.version.definition.steps.map((s, i) => ({ id: s.id, root: i === 0 }));
  const runIds: string[] = [];
  for (let n = 0; n < count; n++) {
    const created = await runs.createRunFromEvent(
      {
        flowId: stored.flow.id,
        flowVersionId: stored.version.id,
        method: 'POST',
        headers: {},
        query: {},
        body: { n },
        rawBody: null,
        contentType: 'application/json',
        sourceIp: '127.0.0.1',
        receivedAt: new Date(),
        statusCode: 202,
      },
      steps,
    );
    runIds.push(created.runId);
  }
  const policy = { attempts: 3, backoff: 'fixed' as const, delayMs: 50, maxDelayMs: 50 };
  const [bundle, ...more] = bundleJobs(
    runIds.map((id) =>
      stepJob(id, steps[0].id, { policy, timeoutMs: 10_000, flowVersionId: stored.version.id }),
    ),
  );
  if (more.length > 0 || bundle.name !== 'bundle')
    throw new Error(`${count} runs do not make one bundle job`);
  await hf.api.get<Queue>(getQueueToken(STEP_QUEUE)).add(bundle.name, bundle.data, bundle.opts);
  return runIds;
}
