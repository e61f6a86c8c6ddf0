import { parseArgs } from 'node:util';
import { settingsHelp } from '../settings.js';
import { version } from '../version.js';
import { renderReference } from '../config/reference.js';
import { checkConfigCommand, checkConfigHelp } from './check-config.js';
import { genhashCommand, genhashHelp } from './genhash.js';
import { runCommand, runHelp } from './run.js';
import { reloadCommand, reloadHelp } from './reload.js';
import { statusCommand, statusHelp } from './status.js';
import { realserverCommand, realserverHelp } from './realserver.js';
import { failoverCommand, failoverHelp } from './failover.js';
import { disableHelp, drainHelp, enableHelp, overrideCommand } from './override.js';
import { UsageError, type Io, processIo } from './io.js';

/** A CLI command: its one-line summary, its help text and its entry point. */
interface Command {
  readonly summary: string;
  readonly help: string;
  run(args: string[], io: Io): Promise<number>;
}

const commands: Record<string, Command> = {
  'check-config': { summary: 'validate keepalived.conf and print every problem as file:line:col', help: checkConfigHelp, run: checkConfigCommand },
  run: { summary: 'run the director (today: the VRRP engine) for keepalived.conf', help: runHelp, run: runCommand },
  genhash: { summary: 'print the MD5 of a URL body for a url digest, as keepalived genhash', help: genhashHelp, run: genhashCommand },
  status: { summary: 'show what the running daemon is doing (exit 1 when degraded, 3 when unreachable)', help: statusHelp, run: statusCommand },
  reload: { summary: 'make the running daemon re-read its configuration (as SIGHUP); exit 5 on config errors', help: reloadHelp, run: reloadCommand },
  failover: { summary: 'hand the VIPs to the peer and hold BACKUP (maintenance) until --release or a timeout', help: failoverHelp, run: failoverCommand },
  realserver: { summary: 'set up this machine as an LVS tunnel-mode real server (tunl0, VIPs, sysctls); --check, --undo', help: realserverHelp, run: realserverCommand },
  drain: { summary: 'take a real server out gently (weight 0) and report its connections until none is left', help: drainHelp, run: overrideCommand('drain') },
  disable: { summary: 'take a real server out of rotation whatever its health', help: disableHelp, run: overrideCommand('disable') },
  enable: { summary: 'end a drain or disable: the real server is health-driven again', help: enableHelp, run: overrideCommand('enable') },
  'config-reference': {
    summary: 'print the reference of every keepalived.conf keyword vigil accepts (Markdown)',
    help: 'Usage: vigil config-reference\n\nPrints every block and keyword vigil accepts, with meaning, default, range and keepalived differences.\n',
    run: async (args, io) => {
      if (args.length > 0) throw new UsageError(`config-reference takes no arguments; got '${args[0]}'`);
      io.out(renderReference());
      return 0;
    },
  },
};

export { version };

function mainHelp(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  return [
    'vigil — keepalived-compatible high availability for Linux Virtual Server directors',
    '',
    'Usage: vigil <command> [options]',
    '       vigil -t [-f FILE]        check the configuration, as keepalived -t does',
    '       vigil [-D] [-f FILE] ...  run the daemon with keepalived\'s options (as vigil run)',
    '',
    'Commands:',
    ...Object.entries(commands).map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`),
    '',
    'Options:',
    '  -h, --help       show help (also: vigil <command> --help)',
    '  -V, --version    print the version',
    '',
    'Settings (flag, environment variable, default):',
    ...settingsHelp.map((s) => `  ${s.flag.padEnd(18)} ${s.env.padEnd(22)} ${s.default || '(empty)'}  — ${s.doc}`),
    '',
  ].join('\n');
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  try {
    const [first, ...rest] = argv;
    if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
      const sub = first === 'help' ? rest[0] : undefined;
      io.out(sub && commands[sub] ? commands[sub].help : mainHelp());
      return 0;
    }
    if (first === '-V' || first === '--version' || first === '-v') {
      io.out(`vigil ${version()}\n`);
      return 0;
    }
    // keepalived's spelling: `keepalived -t -f FILE` (options in any order).
    if (first.startsWith('-') && argv.some((a) => a === '-t' || a === '--config-test')) {
      return await commands['check-config']!.run(argv.filter((a) => a !== '-t' && a !== '--config-test'), io);
    }
    // keepalived's spelling of a start: `keepalived -D -f FILE` (options, no command) is `vigil run`.
    if (first.startsWith('-')) return await commands.run!.run(argv, io);
    const cmd = commands[first];
    if (!cmd) throw new UsageError(`unknown command '${first}'. Commands: ${Object.keys(commands).join(', ')}. See 'vigil --help'.`);
    if (rest.includes('-h') || rest.includes('--help')) {
      io.out(cmd.help);
      return 0;
    }
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`vigil: ${(e as Error).message}\n`);
      return 2;
    }
    if ((e as { code?: string }).code === 'VIGIL_SETTINGS') {
      io.err(`vigil: ${(e as Error).message}\n`);
      return 2;
    }
    throw e;
  }
}

export { parseArgs };
