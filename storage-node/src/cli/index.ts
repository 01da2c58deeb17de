/**
 * The `leios` command: `leios node`, `leios genesis create`, `leios devnet`.
 *
 * @module
 */
import { genesisMain } from './genesis';

const HELP = `usage: leios <command> [options]
  node --config FILE        run one storage node
  genesis create [options]  write a devnet genesis and its seeds
  devnet [options]          run a local devnet (storage nodes, edge relays, tx generator)
`;

/**
 * Run the `leios` command with `argv` (without the program name); resolves with the exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await main(['genesis', 'create', '--out', '/tmp/g']);
 * ```
 */
export async function main(argv: readonly string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'node': {
      const { nodeMain } = await import('./node');
      return nodeMain(rest);
    }
    case 'genesis':
      return genesisMain(rest);
    case 'devnet': {
      const { devnetMain } = await import('./devnet');
      return devnetMain(rest);
    }
    default:
      process.stderr.write(HELP);
      return cmd === undefined || cmd === '--help' || cmd === 'help' ? 0 : 2;
  }
}
