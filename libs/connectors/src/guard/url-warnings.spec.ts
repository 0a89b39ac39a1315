import type { FlowDefinition } from '@hookflow/flows';
import { parseOutboundAllow } from './outbound-allow';
import { outboundUrlWarnings } from './url-warnings';

const flow = (...urls: unknown[]): FlowDefinition =>
  ({
    slug: 'f',
    trigger: { type: 'webhook' },
    steps: [
      { id: 'shape', type: 'transform', expression: '$' },
      ...urls.map((url, i) => ({ id: `a${i}`, type: 'action', connector: 'http', with: { url } })),
    ],
  }) as FlowDefinition;

describe('outboundUrlWarnings', () => {
  it.each([
    ['http://127.0.0.2:8080/', '127.0.0.2 is loopback (127.0.0.0/8)'],
    ['http://2130706434/', '127.0.0.2 is loopback (127.0.0.0/8)'],
    ['http://0x7f000002/', '127.0.0.2 is loopback (127.0.0.0/8)'],
    ['http://[::ffff:127.0.0.2]/', '::ffff:7f00:2 is IPv4-mapped IPv6 of 127.0.0.2: loopback (127.0.0.0/8)'],
    ['http://[::1]/', '::1 is loopback (::1)'],
    [
      'http://169.254.169.254/latest/meta-data',
      '169.254.169.254 is cloud metadata endpoint (link-local 169.254.169.254)',
    ],
    ['https://10.0.0.7/hook', '10.0.0.7 is private (RFC 1918 10.0.0.0/8)'],
    ['http://localhost:3000/x', 'localhost is loopback (127.0.0.0/8, ::1)'],
    ['http://api.localhost/x', 'api.localhost is loopback (127.0.0.0/8, ::1)'],
  ])('warns about %s', (url, problem) => {
    expect(outboundUrlWarnings(flow(url))).toEqual([
      {
        path: '/steps/1/with/url',
        message: `will be refused on every attempt: ${problem}; add the host or address to OUTBOUND_ALLOW to send there`,
      },
    ]);
  });

  it('says nothing of templates, host names, public addresses and what OUTBOUND_ALLOW opens', () => {
    const urls = [
      'http://{{steps.shape.host}}/x',
      'https://hooks.example.com/x',
      'https://8.8.8.8/x',
      'http://127.0.0.1:9000/',
      'http://localhost:9000/',
      'not a url',
      42,
    ];
    expect(outboundUrlWarnings(flow(...urls), parseOutboundAllow('127.0.0.1/32'))).toEqual([]);
    expect(outboundUrlWarnings(flow('http://localhost/'), parseOutboundAllow('localhost'))).toEqual([]);
    expect(outboundUrlWarnings(flow('http://10.1.2.3/'), parseOutboundAllow('10.0.0.0/8'))).toEqual([]);
  });

  it('points at every refused action', () => {
    const warnings = outboundUrlWarnings(
      flow('http://127.0.0.2/', 'https://example.com/', 'http://[fe80::1]/'),
    );
    expect(warnings.map((w) => w.path)).toEqual(['/steps/1/with/url', '/steps/3/with/url']);
  });
});
