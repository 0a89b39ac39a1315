import { Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { unstorableCharIn, unstorableTextAt } from '@hookflow/store';
import { AppError } from './app-error';

/** Longest path or query parameter value the management API reads (slugs, ids and cursors are far shorter). */
export const MAX_PARAM_CHARS = 1000;

/** Requires each path and query parameter once, as text, bounded and storable: else a 400, not a 500. */
@Injectable()
export class RequestTextPipe implements PipeTransform {
  transform(value: unknown, meta: ArgumentMetadata): unknown {
    if ((meta.type !== 'param' && meta.type !== 'query') || !meta.data || value === undefined) return value;
    const path = `/${meta.data}`;
    if (typeof value !== 'string') throw AppError.invalid(path, 'must be given once, as text');
    if (value.length > MAX_PARAM_CHARS)
      throw AppError.invalid(path, `must be at most ${MAX_PARAM_CHARS} characters`);
    const problem = unstorableCharIn(value);
    if (problem) throw AppError.invalid(path, `must not contain ${problem}`);
    return value;
  }
}

/** Refuses (400) body text PostgreSQL cannot store; only `\u` escapes can carry it, so others are skipped. */
export function refuseUnstorableBody(text: string, body: unknown, except: readonly string[] = []): void {
  if (!text.includes('\\u')) return;
  // `except`: top-level members that are data, not people's writing (a dry run's sample request).
  const checked =
    except.length > 0 && body !== null && typeof body === 'object' && !Array.isArray(body)
      ? Object.fromEntries(Object.entries(body).filter(([key]) => !except.includes(key)))
      : body;
  const found = unstorableTextAt(checked);
  if (found) throw AppError.invalid(found.path, `must not contain ${found.problem}`);
}
