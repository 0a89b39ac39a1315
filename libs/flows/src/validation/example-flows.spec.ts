import * as fs from 'node:fs';
import * as path from 'node:path';
import { compileFlow } from '../execute/compile-flow';
import { executeStep } from '../execute/execute-step';
import type { FlowDefinition } from '../model/flow-definition';
import type { StepStatus } from '../model/step-status';
import { validateFlow } from './validate-flow';

const FLOWS_DIR = path.resolve(process.cwd(), 'flows');
const files = fs.existsSync(FLOWS_DIR)
  ? fs.readdirSync(FLOWS_DIR).filter((f) => f.endsWith('.flow.json'))
  : [];

describe('flows/*.flow.json', () => {
  it('has at least one example flow', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s is a valid flow without warnings that compiles', (file) => {
    const doc = JSON.parse(fs.readFileSync(path.join(FLOWS_DIR, file), 'utf8')) as FlowDefinition;
    expect(validateFlow(doc)).toEqual({ valid: true, flow: doc, warnings: [] });
    expect(() => compileFlow(doc)).not.toThrow();
  });

  it.each(files)('%s points editors at the published schema', (file) => {
    const doc = JSON.parse(fs.readFileSync(path.join(FLOWS_DIR, file), 'utf8')) as { $schema?: string };
    expect(doc.$schema).toBeDefined();
    expect(fs.existsSync(path.resolve(FLOWS_DIR, doc.$schema!))).toBe(true);
  });
});

describe('flows/order-fanout.flow.json, run as a dry run', () => {
  it('transforms the order and fans out to three actions with typed JSON', async () => {
    const doc = JSON.parse(
      fs.readFileSync(path.join(FLOWS_DIR, 'order-fanout.flow.json'), 'utf8'),
    ) as FlowDefinition;
    const flow = compileFlow(doc);
    const registry = {
      get: () => ({ key: 'http', schema: {}, execute: async () => null }),
      keys: () => ['http'],
    };
    const ctx = {
      trigger: {
        body: {
          id: 'ord_1',
          currency: 'eur',
          customer: { email: 'a@example.com' },
          items: [
            { sku: 'tea', quantity: 2, unitPrice: 450 },
            { sku: 'mug', quantity: 1, unitPrice: 1200 },
          ],
          shipping: { address: { city: 'Lyon' } },
        },
        query: {},
        headers: {},
        method: 'POST',
        receivedAt: '2024-01-01T00:00:00Z',
      },
      steps: {} as Record<string, unknown>,
      run: { id: 'run-1', flow: 'order-fanout' },
    };
    const statuses: Record<string, StepStatus> = {};
    const requests: Record<string, unknown> = {};
    for (
      let ready = flow.graph.advance(statuses).ready;
      ready.length > 0;
      ready = flow.graph.advance(statuses).ready
    ) {
      for (const id of ready) {
        const outcome = await executeStep(flow, id, ctx, { connectors: registry, dryRun: true });
        expect(outcome.status).toBe('succeeded');
        statuses[id] = outcome.status;
        const output = (outcome as { output: unknown }).output;
        ctx.steps[id] = output;
        if (id !== 'order') requests[id] = (output as { request: unknown }).request;
      }
    }
    expect(flow.graph.runStatus(statuses)).toBe('succeeded');
    expect(ctx.steps.order).toEqual({
      id: 'ord_1',
      email: 'a@example.com',
      currency: 'EUR',
      total: 21,
      items: [
        { sku: 'tea', quantity: 2 },
        { sku: 'mug', quantity: 1 },
      ],
      address: { city: 'Lyon' },
    });
    expect(requests).toEqual({
      billing: {
        method: 'POST',
        url: 'https://billing.example.com/orders/ord_1/invoice',
        json: { orderId: 'ord_1', amount: 21, currency: 'EUR', email: 'a@example.com' },
      },
      shipping: {
        method: 'POST',
        url: 'https://shipping.example.com/shipments',
        json: {
          reference: 'ord_1',
          address: { city: 'Lyon' },
          items: [
            { sku: 'tea', quantity: 2 },
            { sku: 'mug', quantity: 1 },
          ],
        },
      },
      inventory: {
        method: 'PUT',
        url: 'https://inventory.example.com/reservations/ord_1',
        headers: { 'Idempotency-Key': 'run-1' },
        json: {
          items: [
            { sku: 'tea', quantity: 2 },
            { sku: 'mug', quantity: 1 },
          ],
        },
      },
    });
  });
});
