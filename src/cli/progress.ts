/**
 * Progress on stderr for long runs: on a TTY a status line rewritten a few times a second, when
 * piped a plain line every few seconds; nothing before the first second, nothing with --json.
 */
export interface Progress {
  update(what: string, executions: number, sinceMs: number): void;
  done(): void;
}

export function progress(enabled: boolean, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!enabled) return { update() {}, done() {} };
  const tty = stream.isTTY === true;
  const start = Date.now();
  let last = 0;
  let shown = false;
  return {
    update(what, executions, sinceMs) {
      const now = Date.now();
      if (now - start < 1000) return;
      if (now - last < (tty ? 200 : 5000)) return;
      last = now;
      const rate = sinceMs > 0 ? Math.round((executions * 1000) / sinceMs) : 0;
      const line = `gupcheck: ${what}: ${executions.toLocaleString('en-US')} executions, ${rate.toLocaleString('en-US')}/s, ${((now - start) / 1000).toFixed(1)}s`;
      if (tty) {
        stream.write(`\r\x1b[K${line}`);
        shown = true;
      } else stream.write(`${line}\n`);
    },
    done() {
      if (tty && shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}
