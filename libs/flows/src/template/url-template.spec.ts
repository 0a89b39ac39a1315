import { TemplateError, WITH_TEMPLATE_OPTIONS, compileTemplateTree, inspectTemplateTree } from './template';

const input = {
  id: '../admin/delete?all=1#',
  slash: 'a/b',
  question: 'what?',
  hash: 'x#y',
  percent: '100%',
  percentEncoded: '%2F',
  space: 'a b',
  unicode: 'Zoë/東京',
  amp: 'a&b=c#d',
  plus: '1+1',
  dot: '.',
  dots: '..',
  encodedDots: '%2e%2E',
  empty: '',
  host: 'tenant-1',
  badHost: 'evil.example@good.example',
  path: 'v2/orders',
  number: 42,
};
const secrets = {
  SLACK_URL: 'https://hooks.slack.com/services/T0/B0/xyz?a=1&b=2',
  BASE: 'https://api.example.com',
  BASE_SLASH: 'https://api.example.com/v1/',
};

function renderUrl(url: string): string {
  const tree = compileTemplateTree({ url }, WITH_TEMPLATE_OPTIONS);
  return (tree.render({ input, run: { id: 'run-1', flow: 'f' } }, secrets) as { url: string }).url;
}

function renderError(url: string): TemplateError {
  try {
    renderUrl(url);
  } catch (err) {
    if (err instanceof TemplateError) return err;
    throw err;
  }
  throw new Error(`expected ${url} to fail`);
}

describe('URL templates: values in the path are one segment each', () => {
  it.each([
    ['the issue: ../, ? and #', '/orders/{{input.id}}', '/orders/..%2Fadmin%2Fdelete%3Fall%3D1%23'],
    ['a slash', '/files/{{input.slash}}', '/files/a%2Fb'],
    ['a question mark', '/q/{{input.question}}', '/q/what%3F'],
    ['a hash', '/h/{{input.hash}}', '/h/x%23y'],
    ['a percent sign', '/p/{{input.percent}}', '/p/100%25'],
    ['a percent escape is not trusted', '/p/{{input.percentEncoded}}', '/p/%252F'],
    ['a space', '/s/{{input.space}}', '/s/a%20b'],
    ['unicode', '/u/{{input.unicode}}', '/u/Zo%C3%AB%2F%E6%9D%B1%E4%BA%AC'],
    ['a number', '/n/{{input.number}}', '/n/42'],
    ['%2e%2E, which URL parsers would read as ..', '/o/{{input.encodedDots}}', '/o/%252e%252E'],
    ['dots next to literal text', '/f/{{input.dots}}.json', '/f/...json'],
    ['an empty value next to literal text', '/v{{input.empty}}/x', '/v/x'],
  ])('%s', (_name, path, expected) => {
    expect(renderUrl(`https://example.com${path}`)).toBe(`https://example.com${expected}`);
  });

  it('keeps the request on the intended route when parsed', () => {
    const url = new URL(renderUrl('https://example.com/orders/{{input.id}}'));
    expect(url.pathname).toBe('/orders/..%2Fadmin%2Fdelete%3Fall%3D1%23');
    expect(url.search).toBe('');
    expect(url.hash).toBe('');
  });

  it.each([
    ['..', '/orders/{{input.dots}}', "makes the path segment '..'"],
    ['.', '/orders/{{input.dot}}/x', "makes the path segment '.'"],
    ['a dot completing literal text to ..', '/orders/{{input.dot}}.', "makes the path segment '..'"],
    ['an empty segment', '/orders/{{input.empty}}', 'renders an empty path segment'],
    ['an empty segment in the middle', '/orders/{{input.missing}}/items', 'renders an empty path segment'],
  ])('refuses a value that moves the path: %s', (_name, path, message) => {
    const error = renderError(`https://example.com${path}`);
    expect(error.pointer).toBe('/url');
    expect(error.message).toContain(message);
    expect(error.message).toMatch(/^\{\{input\.\w+\}\}/);
  });
});

describe('URL templates: values in the query are one component each', () => {
  it.each([
    ['& = and #', '?q={{input.amp}}', '?q=a%26b%3Dc%23d'],
    ['a plus sign', '?sum={{input.plus}}', '?sum=1%2B1'],
    ['a slash and ..', '?p={{input.id}}', '?p=..%2Fadmin%2Fdelete%3Fall%3D1%23'],
    ['an empty value', '?p={{input.empty}}&x=1', '?p=&x=1'],
  ])('%s', (_name, query, expected) => {
    expect(renderUrl(`https://example.com/search${query}`)).toBe(`https://example.com/search${expected}`);
  });

  it('keeps one parameter per value', () => {
    const url = new URL(renderUrl('https://example.com/s?q={{input.amp}}&page=1'));
    expect([...url.searchParams]).toEqual([
      ['q', 'a&b=c#d'],
      ['page', '1'],
    ]);
  });
});

describe('URL templates: whole URLs and origins from a template stay as they are', () => {
  it('a webhook URL kept as a secret', () => {
    expect(renderUrl("{{secret 'SLACK_URL'}}")).toBe(secrets.SLACK_URL);
  });

  it('an origin kept as a secret, with a path value after it', () => {
    expect(renderUrl("{{secret 'BASE'}}/orders/{{input.id}}")).toBe(
      'https://api.example.com/orders/..%2Fadmin%2Fdelete%3Fall%3D1%23',
    );
  });

  it('a base URL with a path, then a value', () => {
    expect(renderUrl("{{secret 'BASE_SLASH'}}{{input.slash}}")).toBe('https://api.example.com/v1/a%2Fb');
  });

  it('a value after an origin without a slash lands in the host, so it must look like one', () => {
    expect(renderError("{{secret 'BASE'}}{{input.slash}}").message).toContain('is in the host');
  });

  it('only the first piece may fill the whole URL, even when it renders nothing', () => {
    expect(renderUrl("{{secret 'SLACK_URL'}}{{input.empty}}")).toBe(secrets.SLACK_URL);
    expect(renderError('{{input.empty}}{{input.id}}').message).toContain('{{input.id}} is in the host');
  });

  it('a value in the host may not add userinfo, a path or a query', () => {
    expect(renderUrl('https://{{input.host}}.example.com/x')).toBe('https://tenant-1.example.com/x');
    const error = renderError('https://{{input.badHost}}/x');
    expect(error.message).toContain('{{input.badHost}} is in the host');
    expect(error.message).not.toContain('evil');
  });
});

describe('URL templates: opting out and urlencode', () => {
  it('{{raw x}} inserts the text as the author wrote it', () => {
    expect(renderUrl('https://example.com/{{raw input.path}}?x=1')).toBe('https://example.com/v2/orders?x=1');
  });

  it('{{urlencode x}} is not encoded twice, so old flows send what they sent', () => {
    expect(renderUrl('https://example.com/orders/{{urlencode input.id}}?q={{urlencode input.amp}}')).toBe(
      'https://example.com/orders/..%2Fadmin%2Fdelete%3Fall%3D1%23?q=a%26b%3Dc%23d',
    );
    expect(renderUrl('https://example.com/orders/{{urlencode input.id}}')).toBe(
      renderUrl('https://example.com/orders/{{input.id}}'),
    );
  });

  it('{{urlencode x}} of .. is still refused as a path segment', () => {
    expect(renderError('https://example.com/orders/{{urlencode input.dots}}').message).toContain('..');
  });

  it('triple-stash is encoded like any value (the opt-out is raw)', () => {
    expect(renderUrl('https://example.com/orders/{{{input.slash}}}')).toBe(
      'https://example.com/orders/a%2Fb',
    );
  });

  it('outside a url, raw is plain text and values are not encoded', () => {
    const tree = compileTemplateTree(
      { body: '{{raw input.slash}} {{input.id}}', headers: { x: '{{input.slash}}' } },
      WITH_TEMPLATE_OPTIONS,
    );
    expect(tree.render({ input })).toEqual({ body: 'a/b ../admin/delete?all=1#', headers: { x: 'a/b' } });
  });
});

describe('URL templates: blocks', () => {
  it('follows if/else with literal path parts inside', () => {
    const url = 'https://example.com/{{#if input.number}}v2/{{input.slash}}{{else}}v1{{/if}}/x';
    expect(renderUrl(url)).toBe('https://example.com/v2/a%2Fb/x');
    expect(renderUrl(url.replace('input.number', 'input.empty'))).toBe('https://example.com/v1/x');
  });

  it('unless, with includeZero as Handlebars reads it', () => {
    expect(renderUrl('https://example.com/{{#unless input.empty}}none{{/unless}}')).toBe(
      'https://example.com/none',
    );
  });

  it('encodes what other blocks render as one value', () => {
    expect(renderUrl('https://example.com/{{#with input}}{{slash}}{{/with}}')).toBe(
      'https://example.com/a%2Fb',
    );
  });
});

describe('URL templates: the warning about request data in the host', () => {
  function warnings(url: string): string[] {
    return inspectTemplateTree({ url }, WITH_TEMPLATE_OPTIONS).warnings.map(
      (w) => `${w.pointer} ${w.message}`,
    );
  }

  it.each([
    ['the whole URL', '{{input.callback}}', 'the whole URL or its origin'],
    ['the host', 'https://{{input.host}}.example.com/x', 'the host'],
    ['the host from a step output', 'https://{{steps.lookup.host}}/x', 'the host'],
    ['a value right after a secret origin', "{{secret 'BASE'}}{{input.path}}", 'the host'],
    ['the host through a helper', "https://{{default trigger.query.host 'x.example'}}/", 'the host'],
  ])('warns for %s', (_name, url, where) => {
    const [warning, ...more] = warnings(url);
    expect(more).toEqual([]);
    expect(warning).toMatch(/^\/url \{\{.+\}\} puts data from the request \(.+\) in /);
    expect(warning).toContain(where);
  });

  it.each([
    ['a literal origin', 'https://example.com/orders/{{input.id}}?q={{input.q}}'],
    ['a secret origin', "{{secret 'BASE'}}/orders/{{input.id}}"],
    ['a whole URL from a secret', "{{secret 'SLACK_URL'}}"],
    ['the run id in the host', 'https://{{run.flow}}.example.com/'],
  ])('does not warn for %s', (_name, url) => {
    expect(warnings(url)).toEqual([]);
  });
});
