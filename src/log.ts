import { pino, type Logger } from 'pino';
import type { Settings } from './settings.js';

/** Creates the process logger: JSON lines, or pino-pretty when asked or when stderr is a terminal. */
export function createLogger(s: Pick<Settings, 'logLevel' | 'logFormat'>, name = 'vigil'): Logger {
  const pretty = s.logFormat === 'pretty' || (s.logFormat === 'auto' && process.stderr.isTTY === true);
  if (pretty) {
    return pino({
      name,
      level: s.logLevel,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, translateTime: 'SYS:HH:MM:ss.l' } },
    });
  }
  return pino({ name, level: s.logLevel }, pino.destination({ fd: 2, sync: true }));
}

export type { Logger };
