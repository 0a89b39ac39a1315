import { Inject, Injectable } from '@nestjs/common';
import {
  outboundUrlWarnings,
  parseOutboundAllow,
  parseSigningSecret,
  type OutboundAllowList,
} from '@hookflow/connectors';
import type { ConnectorRegistry, FlowDefinition, ValidationIssue } from '@hookflow/flows';
import { canonicalFlowJson, compileFlow, SLUG_PATTERN, validateFlow, webhookOf } from '@hookflow/flows';
import { HOOKFLOW_CONFIG, type HookflowConfig } from '@hookflow/platform';
import { FileManagedError, FlowRepository, SecretRepository, SlugTakenError } from '@hookflow/store';
import { AppError, ErrorCode } from '../common/app-error';
import { CONNECTOR_CATALOG } from '../common/tokens';
import { TriggerCache } from '../triggers/trigger-cache';
import { flowView, type FlowView } from './flow-view';

const SLUG = new RegExp(SLUG_PATTERN);
/** The largest PostgreSQL integer, the type of a version number. */
const MAX_VERSION = 2 ** 31 - 1;

/** Creating, changing and reading flows over REST. */
@Injectable()
export class FlowsService {
  private readonly outboundAllow: OutboundAllowList;

  constructor(
    private readonly flows: FlowRepository,
    private readonly triggers: TriggerCache,
    private readonly secrets: SecretRepository,
    @Inject(CONNECTOR_CATALOG) private readonly connectors: ConnectorRegistry,
    @Inject(HOOKFLOW_CONFIG) private readonly config: HookflowConfig,
  ) {
    this.outboundAllow = parseOutboundAllow(config.outboundAllow);
  }

  /** Validates a flow (400 `invalid_flow`); warns of URLs the outbound guard would always refuse. */
  validate(doc: unknown): { definition: FlowDefinition; warnings: { path: string; message: string }[] } {
    const result = validateFlow(doc, { connectors: this.connectors });
    if (!result.valid) {
      const first = result.errors[0];
      throw new AppError(
        ErrorCode.InvalidFlow,
        `the flow definition is invalid: ${first.path || '/'} ${first.message}` +
          (result.errors.length > 1 ? ` (and ${result.errors.length - 1} more)` : ''),
        result.errors,
      );
    }
    return {
      definition: result.flow,
      warnings: [...result.warnings, ...outboundUrlWarnings(result.flow, this.outboundAllow)],
    };
  }

  /** `validate`, then what the secret store can tell: see `secretIssues`. */
  async check(doc: unknown): Promise<{ definition: FlowDefinition; warnings: ValidationIssue[] }> {
    const { definition, warnings } = this.validate(doc);
    return { definition, warnings: [...warnings, ...(await this.secretIssues(definition))] };
  }

  /**
   * A secret the flow names that is not stored is a warning (it may be added before the first
   * run); a stored signing secret that is not a Standard Webhooks secret is refused, as every
   * delivery would fail on it.
   */
  private async secretIssues(definition: FlowDefinition): Promise<ValidationIssue[]> {
    if (!this.secrets.available) return [];
    const uses = secretUses(definition);
    if (uses.length === 0) return [];
    let values: Record<string, string>;
    try {
      values = await this.secrets.values(uses.map((use) => use.name));
    } catch (err) {
      // A store the API cannot read (a wrong master key) must not stop flows being saved.
      return [
        { path: '', message: `the secrets this flow names could not be checked: ${(err as Error).message}` },
      ];
    }
    const errors: ValidationIssue[] = [];
    const warnings: ValidationIssue[] = [];
    for (const use of uses) {
      const value = Object.hasOwn(values, use.name) ? values[use.name] : undefined;
      if (value === undefined) {
        warnings.push({
          path: use.path,
          message: `names the secret '${use.name}', which is not in the secret store: add it before the flow runs`,
        });
      } else if (use.signing) {
        try {
          parseSigningSecret(value);
        } catch {
          errors.push({
            path: use.path,
            message: `the secret '${use.name}' is not a Standard Webhooks secret (whsec_ followed by base64)`,
          });
        }
      }
    }
    if (errors.length > 0) {
      throw new AppError(
        ErrorCode.InvalidFlow,
        `the flow definition is invalid: ${errors[0].path} ${errors[0].message}`,
        errors,
      );
    }
    return warnings;
  }

  /** Saved, with the validator's warnings (a URL the outbound guard will always refuse, say). */
  async create(doc: unknown): Promise<FlowView & { warnings: ValidationIssue[] }> {
    const { definition, warnings } = await this.check(doc);
    try {
      const record = await this.flows.create(definition);
      // A new schedule or poll starts firing when the workers hear of it.
      await this.announce(record.flow.id);
      return { ...flowView(record, this.config.publicUrl), warnings };
    } catch (err) {
      if (err instanceof SlugTakenError) {
        throw new AppError(ErrorCode.Conflict, err.message, [{ path: '/slug', message: 'is already taken' }]);
      }
      throw err;
    }
  }

  async list(limit: number, cursor?: string): Promise<{ items: FlowView[]; nextCursor: string | null }> {
    const after = cursor ? Buffer.from(cursor, 'base64url').toString() : undefined;
    if (after !== undefined && !SLUG.test(after))
      throw AppError.invalid('/cursor', 'is not one this server gave out');
    const records = await this.flows.list(limit + 1, after);
    const more = records.length > limit;
    if (more) records.pop();
    const last = records[records.length - 1];
    return {
      items: records.map((r) => flowView(r, this.config.publicUrl)),
      nextCursor: more && last ? Buffer.from(last.flow.slug).toString('base64url') : null,
    };
  }

  async get(slug: string): Promise<FlowView> {
    const record = await this.flows.findBySlug(slug);
    if (!record) throw AppError.notFound(`flow '${slug}'`);
    return flowView(record, this.config.publicUrl);
  }

  async replace(slug: string, doc: unknown): Promise<FlowView & { warnings: ValidationIssue[] }> {
    const withSlug = doc && typeof doc === 'object' && !Array.isArray(doc) ? { slug, ...doc } : doc;
    const { definition, warnings } = await this.check(withSlug);
    if (definition.slug !== slug) {
      throw new AppError(
        ErrorCode.InvalidFlow,
        `slug '${definition.slug}' does not match the URL's '${slug}'`,
        [{ path: '/slug', message: `must be '${slug}' (the slug in the URL)` }],
      );
    }
    const record = await this.fileManagedAs409(() => this.flows.update(slug, definition));
    if (!record) throw AppError.notFound(`flow '${slug}'`);
    await this.announce(record.flow.id);
    return { ...flowView(record, this.config.publicUrl), warnings };
  }

  async setEnabled(slug: string, enabled: unknown): Promise<FlowView> {
    if (typeof enabled !== 'boolean') throw AppError.invalid('/enabled', 'must be true or false');
    const record = await this.fileManagedAs409(() => this.flows.setEnabled(slug, enabled, true));
    if (!record) throw AppError.notFound(`flow '${slug}'`);
    await this.announce(record.flow.id);
    return flowView(record, this.config.publicUrl);
  }

  async remove(slug: string): Promise<void> {
    const id = await this.fileManagedAs409(() => this.flows.softDelete(slug, true));
    if (!id) throw AppError.notFound(`flow '${slug}'`);
    await this.announce(id);
  }

  async versions(slug: string) {
    const record = await this.flows.findBySlug(slug);
    if (!record) throw AppError.notFound(`flow '${slug}'`);
    const versions = await this.flows.versions(record.flow.id);
    return {
      items: versions.map((v) => ({
        version: v.version,
        checksum: v.checksum,
        createdAt: v.createdAt,
        current: v.version === record.flow.currentVersion,
      })),
    };
  }

  async version(slug: string, version: number) {
    const record = await this.flows.findBySlug(slug);
    if (!record) throw AppError.notFound(`flow '${slug}'`);
    // Versions count from 1 in a PostgreSQL integer: any other number names no version.
    const exists = Number.isSafeInteger(version) && version >= 1 && version <= MAX_VERSION;
    const v = exists ? await this.flows.version(record.flow.id, version) : null;
    if (!v) throw AppError.notFound(`version ${version} of flow '${slug}'`);
    return { version: v.version, checksum: v.checksum, createdAt: v.createdAt, definition: v.definition };
  }

  /** The canonical file content: what a `*.flow.json` holding this flow should contain, byte for byte. */
  async export(slug: string): Promise<string> {
    const record = await this.flows.findBySlug(slug);
    if (!record) throw AppError.notFound(`flow '${slug}'`);
    return canonicalFlowJson(record.version.definition);
  }

  async definitionOf(slug: string): Promise<FlowDefinition> {
    const record = await this.flows.findBySlug(slug);
    if (!record) throw AppError.notFound(`flow '${slug}'`);
    return record.version.definition;
  }

  /** A new trigger key; the old URL answers 404 from now on, on every replica. */
  async rotateTrigger(slug: string): Promise<FlowView> {
    const record = await this.flows.rotateTriggerKey(slug);
    if (!record) throw AppError.notFound(`flow '${slug}'`);
    await this.announce(record.flow.id);
    return flowView(record, this.config.publicUrl);
  }

  /** The repository refuses API writes to file-owned flows under its lock; say so with 409 file_managed. */
  private async fileManagedAs409<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if (err instanceof FileManagedError) {
        throw new AppError(ErrorCode.FileManaged, err.message, [
          { path: '/', message: `managed by ${err.source}` },
        ]);
      }
      throw err;
    }
  }

  /** Every replica's trigger cache forgets this flow now, not at TTL; every worker syncs its schedules. */
  private async announce(flowId: string): Promise<void> {
    this.triggers.clear();
    await this.flows.announceChange(flowId);
  }
}

/** Where a flow names secrets: the trigger's verification, each action's templates and its signing. */
function secretUses(definition: FlowDefinition): { name: string; path: string; signing: boolean }[] {
  const uses: { name: string; path: string; signing: boolean }[] = [];
  const verifySecret = webhookOf(definition)?.verify?.secret;
  if (verifySecret !== undefined)
    uses.push({ name: verifySecret, path: '/trigger/verify/secret', signing: false });
  const flow = compileFlow(definition);
  definition.steps.forEach((def, i) => {
    const step = flow.step(def.id);
    const signing = 'signSecretName' in step ? step.signSecretName : undefined;
    for (const name of step.secretNames) {
      uses.push(
        name === signing
          ? { name, path: `/steps/${i}/with/sign/secret`, signing: true }
          : { name, path: `/steps/${i}/with`, signing: false },
      );
    }
  });
  return uses;
}
