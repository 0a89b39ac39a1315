import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { HOOKFLOW_VERSION } from '@hookflow/connectors';
import { HTTP_METHODS } from '@hookflow/flows';
import { ErrorCode } from './app-error';
import { SESSION_COOKIE } from '../session/browser-request';
import { API_KEY_SCHEME, errorSchema, METRICS_SCHEME, SESSION_SCHEME } from './openapi.decorators';
import { OPENAPI_SCHEMAS } from './openapi.schemas';

/** Where the Swagger UI is served; the JSON document is at `${OPENAPI_PATH}-json`. */
const OPENAPI_PATH = '/api/docs';

const DESCRIPTION = [
  'Hookflow receives webhooks on trigger URLs (`/hooks/{key}`, public) and runs flows of JSONata transforms,',
  'filters and connector actions. The management API under `/api` needs `Authorization: Bearer <api key>`;',
  "the key's scope decides what it may do: `read` only GETs, `write` also changes flows, runs and secrets,",
  '`admin` also manages API keys. Each operation names the scope it needs as the role of its bearer',
  'requirement, and answers 403 `insufficient_scope` (naming that scope) to a key below it.',
  'A browser signs in instead with `POST /api/session` and sends the `hookflow_session` cookie it gets,',
  'with `X-CSRF-Token` on every request but GET.',
  '',
  'Every error is JSON: `{ "error": "<code>", "message": "<sentence>", "details": [{ "path", "message" }] }`,',
  'where `path` is a JSON pointer into the request body.',
].join('\n');

/** The OpenAPI 3.1 document of every route of the API application. */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle('Hookflow')
    .setDescription(DESCRIPTION)
    .setVersion(HOOKFLOW_VERSION)
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        description:
          'An API key: `HOOKFLOW_API_KEY` (scope `admin`) or one made with `POST /api/keys` (its own scope).',
      },
      API_KEY_SCHEME,
    )
    .addCookieAuth(
      SESSION_COOKIE,
      {
        type: 'apiKey',
        in: 'cookie',
        description:
          'A browser session from `POST /api/session`, with the scope of the key it signed in with. Every ' +
          "request but GET also needs the session's `X-CSRF-Token`; requests from another origin are refused.",
      },
      SESSION_SCHEME,
    )
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        description: '`METRICS_TOKEN`, for `/metrics` when it is set.',
      },
      METRICS_SCHEME,
    )
    .addTag('flows', 'Flow definitions, versions, flow files, dry runs and the inbound inspector.')
    .addTag('runs', 'Run history and operations: retry, replay, cancel.')
    .addTag('stats', 'Run and delivery figures over a time window, for dashboards.')
    .addTag(
      'destinations',
      'Destinations and their circuit breaker: state, failures, pause and resume by hand.',
    )
    .addTag('triggers', 'Public trigger URLs that start runs.')
    .addTag('secrets', 'The secret store: values go in encrypted and never come back out.')
    .addTag('subscriptions', 'Operational webhooks: events such as run.failed sent to your URLs, signed.')
    .addTag('keys', 'Management API keys, stored hashed and shown once.')
    .addTag('session', 'Browser sign-in: an API key traded for a session cookie.')
    .addTag('health', 'Liveness and readiness probes.')
    .build();
  config.components = { ...config.components, schemas: { ...OPENAPI_SCHEMAS } };
  const document = SwaggerModule.createDocument(app, config, {
    // Tags are the four above, set on the controllers; not one per controller class name.
    autoTagControllers: false,
    operationIdFactory: (controller, method) =>
      `${controller.replace(/Controller$/, '').toLowerCase()}_${method}`,
  });
  return withBodilessRefusals(onlyTriggerMethods(document));
}

const NO_BODY = 'A body with fields: this endpoint takes none (`details` names them).';

/** Adds the 400 a bodiless management operation gives a body with fields (RequestBodyCheck). */
function withBodilessRefusals(document: OpenAPIObject): OpenAPIObject {
  for (const [path, item] of Object.entries(document.paths)) {
    if (!path.startsWith('/api/')) continue;
    for (const method of ['post', 'put', 'patch', 'delete'] as const) {
      const operation = item[method];
      if (!operation || operation.requestBody) continue;
      const refusal = operation.responses['400'] as { description: string } | undefined;
      if (refusal) refusal.description = `${refusal.description} ${NO_BODY}`;
      else
        operation.responses['400'] = {
          description: `\`${ErrorCode.InvalidRequest}\`: ${NO_BODY}`,
          content: { 'application/json': { schema: errorSchema(ErrorCode.InvalidRequest) } },
        };
    }
  }
  return document;
}

/** Triggers keep only HTTP_METHODS (`@All` also yields SEARCH, QUERY), and no body on GET or HEAD. */
function onlyTriggerMethods(document: OpenAPIObject): OpenAPIObject {
  const allowed = new Set(HTTP_METHODS.map((m) => m.toLowerCase()));
  for (const [path, item] of Object.entries(document.paths)) {
    if (!path.startsWith('/hooks/')) continue;
    const pathItem = item as Record<string, { requestBody?: unknown } | undefined>;
    for (const method of Object.keys(pathItem)) {
      if (!['parameters', 'summary', 'description', 'servers'].includes(method) && !allowed.has(method)) {
        delete pathItem[method];
      }
    }
    for (const method of ['get', 'head']) delete pathItem[method]?.requestBody;
  }
  return document;
}

/** Serves the Swagger UI and the JSON document without an API key; call before the app listens. */
export function serveOpenApi(app: INestApplication, document: OpenAPIObject): void {
  SwaggerModule.setup(OPENAPI_PATH, app, document, {
    raw: ['json'],
    customSiteTitle: 'Hookflow API',
    swaggerOptions: { persistAuthorization: true },
  });
}
