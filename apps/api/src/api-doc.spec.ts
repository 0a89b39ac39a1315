import 'reflect-metadata';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AppError, ErrorCode } from './common/app-error';
import { REQUIRED_SCOPE } from './common/openapi.decorators';

const DOC = path.resolve(process.cwd(), 'docs/api.md');
const SOURCE = path.resolve(process.cwd(), 'apps/api/src');

interface Route {
  /** `GET /api/flows/{slug}`, as the OpenAPI document writes it; `ANY` for `@All`. */
  key: string;
  /** The API key scope the route needs; undefined for a public route. */
  scope?: string;
}

function controllerFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return controllerFiles(full);
    return entry.name.endsWith('.controller.ts') ? [full] : [];
  });
}

function joinPath(...parts: (string | undefined)[]): string {
  const segments = parts.flatMap((p) => (p ?? '').split('/')).filter((s) => s !== '');
  return `/${segments.map((s) => s.replace(/^:(\w+)$/, '{$1}')).join('/')}`;
}

/** Every route of the API's controllers, read from their Nest decorators. */
async function controllerRoutes(): Promise<Route[]> {
  const routes: Route[] = [];
  for (const file of controllerFiles(SOURCE)) {
    const exported = Object.values(await import(file)) as unknown[];
    for (const controller of exported) {
      if (typeof controller !== 'function') continue;
      const base = Reflect.getMetadata(PATH_METADATA, controller) as string | undefined;
      if (base === undefined) continue;
      const proto = controller.prototype as Record<string, unknown>;
      for (const name of Object.getOwnPropertyNames(proto)) {
        const handler = proto[name];
        if (name === 'constructor' || typeof handler !== 'function') continue;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (method === undefined) continue;
        const verb = method === RequestMethod.ALL ? 'ANY' : RequestMethod[method];
        routes.push({
          key: `${verb} ${joinPath(base, Reflect.getMetadata(PATH_METADATA, handler) as string)}`,
          scope: Reflect.getMetadata(REQUIRED_SCOPE, handler) as string | undefined,
        });
      }
    }
  }
  return routes.sort((a, b) => a.key.localeCompare(b.key));
}

/** The cells of the markdown table rows whose first cell is a code span. */
function tableRows(markdown: string): string[][] {
  return markdown
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) =>
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );
}

/** docs/api.md lists every route of the API with the scope it needs, and every error code. */
describe('docs/api.md', () => {
  const rows = tableRows(fs.readFileSync(DOC, 'utf8'));
  const documented = new Map(
    rows.filter(([first]) => /^`[A-Z]+ \//.test(first)).map(([first, scope]) => [first.slice(1, -1), scope]),
  );
  let routes: Route[];

  beforeAll(async () => {
    routes = await controllerRoutes();
  });

  it('names every route of the controllers with its scope, and no other', () => {
    const expected = routes.map((r) => [r.key, r.scope === undefined ? 'none' : `\`${r.scope}\``]);
    expect([...documented.entries()].sort(([a], [b]) => a.localeCompare(b))).toEqual(expected);
  });

  it.each(Object.values(ErrorCode))('explains the error code %s with its status', (code) => {
    const row = rows.find(([first]) => first === `\`${code}\``);
    expect(row?.[1]).toBe(String(new AppError(code, '').status));
  });
});
