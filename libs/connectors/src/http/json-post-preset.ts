import type { Connector, ConnectorContext } from '@hookflow/flows';
import type { HttpConnector } from './http.connector';
import type { HttpOutput } from './http-response';

/** A preset over the http connector that POSTs a JSON body to `url`; chat connectors only say which body. */
export abstract class JsonPostPreset<TWith extends { url: string }> implements Connector {
  abstract readonly key: string;
  abstract readonly schema: Record<string, unknown>;

  constructor(private readonly http: HttpConnector) {}

  /** The JSON body for these options (they have passed `schema`: executeStep checks it after rendering). */
  protected abstract body(options: TWith): unknown;

  execute(options: Record<string, unknown>, ctx: ConnectorContext): Promise<HttpOutput> {
    const input = options as unknown as TWith;
    return this.http.execute({ method: 'POST', url: input.url, json: this.body(input) }, ctx);
  }
}
