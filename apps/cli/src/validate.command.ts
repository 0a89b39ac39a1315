import type { Command } from 'commander';
import type { ConnectorRegistry } from '@hookflow/flows';
import { FLOW_FILE_SUFFIX, readFlowFile, type FlowFileRef } from '@hookflow/flows/files';
import { CliError, type ErrorDetail } from './cli-error';
import type { CommandContext, CommandHandler, Wire } from './command-context';
import { findFlowFiles } from './flow-files';
import { formatDetail, plural, type Output } from './output';
import { startProgress } from './progress';

export const DEFAULT_FLOWS_DIR = './flows';

/** One problem in one file: a JSON pointer, or a line and column for a syntax error. */
export interface FileIssue {
  path: string;
  message: string;
  line?: number;
  column?: number;
}

/** The verdict on one flow file. */
export interface FileReport {
  file: string;
  syncPath: string;
  valid: boolean;
  slug?: string;
  errors: FileIssue[];
  warnings: FileIssue[];
  /** The parsed document, when the file is valid. */
  definition?: unknown;
}

export interface CheckOptions {
  connectors: ConnectorRegistry;
  /** Called after each file, e.g. to advance a progress bar. */
  onFile?: () => void;
}

/** Validates flow files, and that no two claim one slug; a bad file never throws, its report says why. */
export async function checkFlowFiles(refs: FlowFileRef[], opts: CheckOptions): Promise<FileReport[]> {
  const { validateFlow } = await import('./flows-runtime');
  const reports: FileReport[] = [];
  for (const ref of refs) {
    const loaded = await readFlowFile(ref);
    const report: FileReport = {
      file: ref.displayPath,
      syncPath: ref.syncPath,
      valid: false,
      errors: [],
      warnings: [],
    };
    if (!loaded.ok) {
      report.errors.push({ path: '', ...loaded.error });
    } else {
      const result = validateFlow(loaded.document, { connectors: opts.connectors });
      if (result.valid) {
        report.valid = true;
        report.slug = result.flow.slug;
        report.warnings.push(...result.warnings);
        report.definition = loaded.document;
      } else {
        report.errors.push(...result.errors);
      }
    }
    reports.push(report);
    opts.onFile?.();
  }
  const bySlug = new Map<string, FileReport>();
  for (const report of reports) {
    if (!report.valid || report.slug === undefined) continue;
    const first = bySlug.get(report.slug);
    if (!first) {
      bySlug.set(report.slug, report);
      continue;
    }
    report.valid = false;
    report.definition = undefined;
    report.errors.push({
      path: '/slug',
      message: `'${report.slug}' is already the slug of ${first.file}; each flow needs its own slug`,
    });
  }
  return reports;
}

/** The problems of a set of reports as error details (what `apply` fails with). */
export function reportDetails(reports: FileReport[]): ErrorDetail[] {
  return reports.flatMap((r) => r.errors.map((issue) => ({ file: r.file, ...issue })));
}

/** Text lines for the problems: `file: /pointer: message`, warnings prefixed `warning:`. */
export function formatReports(reports: FileReport[], { warnings = true } = {}): string[] {
  const lines: string[] = [];
  for (const report of reports) {
    for (const issue of report.errors) lines.push(formatDetail({ file: report.file, ...issue }));
    if (warnings) {
      for (const issue of report.warnings)
        lines.push(`warning: ${formatDetail({ file: report.file, ...issue })}`);
    }
  }
  return lines;
}

/** `3 files, 1 invalid` (plus the warnings, if any). */
export function summaryLine(reports: FileReport[]): string {
  const invalid = reports.filter((r) => !r.valid).length;
  const warnings = reports.reduce((n, r) => n + r.warnings.length, 0);
  const parts = [plural(reports.length, 'file'), `${invalid} invalid`];
  if (warnings > 0) parts.push(plural(warnings, 'warning'));
  return parts.join(', ');
}

/** Finds, reads and checks flow files with a progress bar for many; no files at all is an error. */
export async function loadFlowFiles(
  paths: string[],
  ctx: CommandContext<unknown>,
  connectors?: ConnectorRegistry,
): Promise<FileReport[]> {
  const { createConnectorRegistry } = await import('./flows-runtime');
  const refs = await findFlowFiles(paths, ctx.io.cwd);
  if (refs.length === 0) {
    throw new CliError(`no *${FLOW_FILE_SUFFIX} files found in ${paths.join(', ')}`);
  }
  const progress = startProgress(ctx.io.stderr, refs.length, 'checking flow files');
  try {
    return await checkFlowFiles(refs, {
      connectors: connectors ?? createConnectorRegistry(),
      onFile: () => progress.tick(),
    });
  } finally {
    progress.stop();
  }
}

function printReports(out: Output, reports: FileReport[]): void {
  for (const line of formatReports(reports)) out.line(line);
  out.line(summaryLine(reports));
}

export const validateHandler: CommandHandler<[string[]]> = async (ctx, paths) => {
  const reports = await loadFlowFiles(paths.length > 0 ? paths : [DEFAULT_FLOWS_DIR], ctx);
  const invalid = reports.filter((r) => !r.valid).length;
  ctx.out.result({
    valid: invalid === 0,
    files: reports.map(({ file, valid, slug, errors, warnings }) => ({
      file,
      valid,
      slug,
      errors,
      warnings,
    })),
    summary: {
      files: reports.length,
      invalid,
      warnings: reports.reduce((n, r) => n + r.warnings.length, 0),
    },
  });
  printReports(ctx.out, reports);
  return invalid === 0 ? 0 : 1;
};

export function registerValidateCommand(program: Command, wire: Wire): void {
  program
    .command('validate')
    .description(
      `check flow files offline: JSON syntax, schema, step graph, expressions, templates, connector options`,
    )
    .argument('[paths...]', `files or folders (every *${FLOW_FILE_SUFFIX} under them)`, [])
    .addHelpText(
      'after',
      `\nDefault path: ${DEFAULT_FLOWS_DIR}. Prints "file: /pointer: message" for each problem; exits 1 if any file is invalid.`,
    )
    .action(wire(validateHandler));
}
