/**
 * `leios node --config file.json`: run one storage node until SIGINT / SIGTERM.
 *
 * Primer: the process runs {@link startStorageNode} and stops it cleanly on a signal (sessions,
 * clock, API, trace file, database, in that order), so a devnet orchestrator can start and stop
 * nodes as plain child processes. Runnable directly (`node --import tsx storage-node/src/cli/node.ts
 * --config …`) or through `leios node`.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { loadNodeConfig, startStorageNode } from '../service/index';

const HELP = `leios node --config FILE
  Run one storage node (config: storage-node/src/service/config.ts).
`;

/** CLI entry: `leios node …`. Resolves with the exit code once the node has stopped. */
export async function nodeMain(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { config: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help || !values.config) {
    process.stderr.write(HELP);
    return values.help ? 0 : 2;
  }
  const config = await loadNodeConfig(values.config);
  const handle = await startStorageNode(config);
  handle.logger.info({ url: handle.url, dashboard: `${handle.url}/`, metrics: `${handle.url}/metrics` }, 'storage node running');
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      handle.logger.info({ signal }, 'stopping');
      handle.stop().then(resolve, (e: unknown) => {
        handle.logger.error({ err: e }, 'stop failed');
        resolve();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  nodeMain(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`leios node: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
