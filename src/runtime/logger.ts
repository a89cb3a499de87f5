/**
 * The logger every keel module takes: the subset of pino's API keel uses, so Fastify's request and
 * app loggers (pino) satisfy it as they are. `obj` carries structured fields; an error goes under
 * `err`, as pino serialises it.
 */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

function ignore(): void {}

/** The default where no logger is passed: libraries stay quiet unless their caller wires one. */
export const silentLogger: Logger = { info: ignore, warn: ignore, error: ignore, debug: ignore };

/**
 * A logger writing one line of text per entry, for the CLI: info to `out`, warn and error to `err`,
 * debug dropped. The line is the message, followed by `: <error message>` when `obj.err` is set.
 */
export function lineLogger(out: (line: string) => void, err: (line: string) => void): Logger {
  const line = (obj: object, msg: string | undefined): string => {
    const text = msg ?? "";
    if (!("err" in obj)) return text;
    const e = obj.err;
    return `${text}: ${e instanceof Error ? e.message : String(e)}`;
  };
  return {
    info: (obj, msg) => out(line(obj, msg)),
    warn: (obj, msg) => err(line(obj, msg)),
    error: (obj, msg) => err(line(obj, msg)),
    debug: ignore,
  };
}
