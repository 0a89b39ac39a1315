import { CliError } from './cli-error';

// A request's headers and query as `hookflow test` and `hookflow run` take them on the command line.

/** Commander's collector of a repeatable option. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `k=v` pairs as the trigger's query; a repeated key becomes an array, as in a real request. */
export function parseQuery(pairs: string[]): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new CliError(`--query expects name=value, got '${pair}'`);
    const name = pair.slice(0, at);
    const value = pair.slice(at + 1);
    const seen = query[name];
    query[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return query;
}

/** `Name: value` pairs as the trigger's headers, names lowercased as Node delivers them. */
export function parseHeaders(pairs: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf(':');
    if (at <= 0) throw new CliError(`--header expects name:value, got '${pair}'`);
    const name = pair.slice(0, at).trim().toLowerCase();
    const value = pair.slice(at + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return headers;
}
