import { API_KEY_SCOPES, type ApiKeyScope } from '@hookflow/store';
import { AppError, ErrorCode } from '../common/app-error';

/** Who is calling the management API: a stored key (its id) or the bootstrap key (null), and its scope. */
export interface ApiCaller {
  keyId: string | null;
  scope: ApiKeyScope;
}

/** Whether a key of scope `held` may do what needs `needed` (`admin` > `write` > `read`). */
export function scopeAllows(held: ApiKeyScope, needed: ApiKeyScope): boolean {
  return API_KEY_SCOPES.indexOf(held) >= API_KEY_SCOPES.indexOf(needed);
}

/** 403 naming the scope needed, with the RFC 6750 challenge; `what` names the refused thing. */
export function insufficientScope(caller: ApiCaller, needed: ApiKeyScope, what: string): AppError {
  return new AppError(
    ErrorCode.InsufficientScope,
    `${what} needs an API key with the '${needed}' scope; this key has '${caller.scope}'`,
    [],
    { 'www-authenticate': `Bearer error="insufficient_scope", scope="${needed}"` },
  );
}
