// Preloaded into profiled bench children: a SIGTERM ends the process with a normal exit, so that
// `--cpu-prof` writes its profile (a process killed by the signal writes nothing).
process.prependListener('SIGTERM', () => process.exit(0));
