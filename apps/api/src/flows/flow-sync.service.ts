import { Inject, Injectable } from '@nestjs/common';
import {
  validateFlow,
  type ConnectorRegistry,
  type SyncFile,
  type SyncPlan,
  type SyncScope,
} from '@hookflow/flows';
import { FlowRepository, SlugTakenError, SyncInProgressError, unstorableTextAt } from '@hookflow/store';
import { AppError, ErrorCode } from '../common/app-error';
import { CONNECTOR_CATALOG } from '../common/tokens';
import { TriggerCache } from '../triggers/trigger-cache';

export interface FlowFile {
  path: string;
  definition: unknown;
}

export interface SyncOptions extends SyncScope {
  dryRun?: boolean;
  /** Wait for a sync in progress (the loader at start) instead of answering 409 (a CI call). */
  wait?: boolean;
}

export interface FileProblem {
  file: string;
  path: string;
  message: string;
}

/** Plans and applies a set of flow files: `POST /api/flows/sync` and the FLOWS_DIR loader (docs/api.md). */
@Injectable()
export class FlowSyncService {
  constructor(
    private readonly flows: FlowRepository,
    private readonly triggers: TriggerCache,
    @Inject(CONNECTOR_CATALOG) private readonly connectors: ConnectorRegistry,
  ) {}

  /** Validates every file, yielding between files so a large sync keeps the API answering. */
  async check(files: FlowFile[]): Promise<{ valid: SyncFile[]; problems: FileProblem[] }> {
    const valid: SyncFile[] = [];
    const problems: FileProblem[] = [];
    const slugs = new Map<string, string>();
    const paths = new Set<string>();
    for (const file of files) {
      await new Promise((resolve) => setImmediate(resolve));
      if (paths.has(file.path)) {
        problems.push({ file: file.path, path: '', message: 'is listed twice' });
        continue;
      }
      paths.add(file.path);
      // Refused rather than changed: the file is the author's, and PostgreSQL could not store it as written.
      const unstorable = unstorableTextAt(file.definition);
      if (unstorable) {
        problems.push({
          file: file.path,
          path: unstorable.path,
          message: `must not contain ${unstorable.problem}`,
        });
        continue;
      }
      const result = validateFlow(file.definition, { connectors: this.connectors });
      if (!result.valid) {
        problems.push(...result.errors.map((e) => ({ file: file.path, path: e.path, message: e.message })));
        continue;
      }
      const other = slugs.get(result.flow.slug);
      if (other) {
        problems.push({
          file: file.path,
          path: '/slug',
          message: `'${result.flow.slug}' is also the slug of ${other}`,
        });
        continue;
      }
      slugs.set(result.flow.slug, file.path);
      valid.push({ path: file.path, definition: result.flow });
    }
    return { valid, problems };
  }

  /** All or nothing: any invalid file refuses the whole sync with 400 and every problem. */
  async sync(files: FlowFile[], options: SyncOptions): Promise<SyncPlan> {
    const badPaths = files.flatMap((f) => {
      const message = checkSourcePath(f.path);
      return message ? [{ file: f.path, path: '', message: `path ${message}` }] : [];
    });
    const checked = await this.check(files);
    const valid = checked.valid;
    const problems = [...badPaths, ...checked.problems];
    if (problems.length > 0) {
      throw new AppError(
        ErrorCode.InvalidFlow,
        `${new Set(problems.map((p) => p.file)).size} flow file(s) are invalid: ${problems[0].file}: ${problems[0].path || '/'} ${problems[0].message}`,
        problems,
      );
    }
    return this.apply(valid, options);
  }

  /** Plans (dryRun) or applies already-validated files, all or nothing (`FlowRepository.applySync`). */
  async apply(files: SyncFile[], options: SyncOptions): Promise<SyncPlan> {
    if (options.dryRun) return this.flows.planSync(files, options);
    try {
      return await this.flows.applySync(files, options);
    } catch (err) {
      if (err instanceof SyncInProgressError) {
        throw new AppError(ErrorCode.Conflict, 'another sync is being applied; try again in a moment');
      }
      if (err instanceof SlugTakenError) {
        throw new AppError(
          ErrorCode.Conflict,
          `${err.message} (created while the sync was applied); nothing was changed`,
        );
      }
      throw err;
    } finally {
      this.triggers.clear();
    }
  }
}

/** A flow's owner is a relative file path: never `api` (that means the REST API), never outside the repository. */
function checkSourcePath(file: string): string | null {
  if (file === 'api') return "'api' is reserved for flows managed over the REST API";
  if (file.length > 500) return 'is longer than 500 characters';
  if (file.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(file))
    return 'must be a path relative to the repository, not an absolute one';
  if (file.split(/[\\/]/).includes('..')) return "must not contain '..'";
  if ([...file].some((c) => c.charCodeAt(0) < 0x20)) return 'must not contain control characters';
  return null;
}
