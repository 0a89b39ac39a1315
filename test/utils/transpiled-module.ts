import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';

export interface TranspiledModule {
  /** The CommonJS file, for a child process to `require`. */
  file: string;
  remove(): Promise<void>;
}

/**
 * One source file of this repository (path from its root, without imports of its own) compiled
 * to CommonJS in a temporary folder: helpers that act on their process (signals, IPC, V8 flags)
 * are tested in a child process of their own, not in the jest worker.
 */
export async function transpiledModule(source: string): Promise<TranspiledModule> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hookflow-module-'));
  const { outputText } = ts.transpileModule(await fs.readFile(path.join(process.cwd(), source), 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  });
  const file = path.join(dir, path.basename(source).replace(/\.ts$/, '.js'));
  await fs.writeFile(file, outputText);
  return { file, remove: () => fs.rm(dir, { recursive: true, force: true }) };
}
