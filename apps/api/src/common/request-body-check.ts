import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { OpenAPIObject } from '@nestjs/swagger';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import type { FastifyRequest } from 'fastify';
import type { Observable } from 'rxjs';
import { AppError, ErrorCode } from './app-error';

const DOCUMENT_ID = 'hookflow:openapi';
const OPERATIONS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** How one route's body is checked: against its documented schema, or it takes none. */
type BodyRule = { kind: 'schema'; validate: ValidateFunction } | { kind: 'none' };

/** Refuses body fields the route's OpenAPI schema does not name (400), so a misspelt one is never ignored. */
@Injectable()
export class RequestBodyCheck implements NestInterceptor {
  /** By Fastify route: `POST /api/flows/:slug/test`. */
  private readonly rules = new Map<string, BodyRule>();

  /** Takes the rules from the document, once the app (and so the document) exists. */
  load(document: OpenAPIObject): void {
    const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
    ajv.addSchema({
      $id: DOCUMENT_ID,
      $defs: rebased({ ...document.components?.schemas, FlowDocument: true }),
    });
    for (const [path, item] of Object.entries(document.paths)) {
      if (!path.startsWith('/api/')) continue;
      for (const method of OPERATIONS) {
        const operation = item[method];
        if (!operation) continue;
        const schema = (
          operation.requestBody as { content?: Record<string, { schema?: unknown }> } | undefined
        )?.content?.['application/json']?.schema;
        const route = `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`;
        this.rules.set(
          route,
          schema ? { kind: 'schema', validate: ajv.compile(rebased(schema)) } : { kind: 'none' },
        );
      }
    }
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const rule = this.rules.get(`${req.method} ${req.routeOptions.url}`);
    if (rule) {
      const unknown = unknownFields(rule, req.body);
      if (unknown.length > 0) throw unknownFieldsError(unknown);
    }
    return next.handle();
  }
}

/** JSON pointers to the fields of `body` that `rule` does not allow. */
function unknownFields(rule: BodyRule, body: unknown): string[] {
  if (rule.kind === 'none') {
    return body && typeof body === 'object' ? Object.keys(body).map((key) => `/${escapePointer(key)}`) : [];
  }
  if (rule.validate(body)) return [];
  // Only unknown fields are this check's business; the services explain every other problem.
  return (rule.validate.errors ?? [])
    .filter((e) => e.keyword === 'additionalProperties')
    .map((e) => `${e.instancePath}/${escapePointer(String(e.params.additionalProperty))}`);
}

function unknownFieldsError(pointers: string[]): AppError {
  const names = pointers.map((p) => `'${p.slice(1)}'`).join(', ');
  return new AppError(
    ErrorCode.InvalidRequest,
    `the request body has ${pointers.length === 1 ? 'a field' : 'fields'} this endpoint does not know: ${names}`,
    pointers.map((path) => ({ path, message: 'is not a field of this request' })),
  );
}

/** Points `#/components/schemas/X` at the document's schemas as registered with Ajv. */
function rebased(schema: unknown): object {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', `"${DOCUMENT_ID}#/$defs/`));
}

/** A member name as one segment of a JSON pointer. */
export function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}
