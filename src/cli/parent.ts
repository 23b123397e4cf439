/**
 * Interrupts through npm (`npx gupcheck ...`, `npm start`): npm runs gupcheck under `sh -c`, and
 * on SIGINT or SIGTERM forwards the signal to that shell only. The shell dies of it, npm re-raises
 * the signal on itself and exits at once, and gupcheck, which never got the signal, runs on,
 * orphaned: whoever waited for npm (`timeout --foreground N npx gupcheck`, a process manager that
 * signals its child) gets no partial results, and the search goes on for as long as it takes.
 * (When the whole process group is signalled, as `timeout N` and Ctrl-C on a terminal do,
 * gupcheck gets the signal itself, and npm still returns before it has printed its results.)
 *
 * So under npm (npm sets npm_lifecycle_event for what it runs), the end of gupcheck's parent
 * process counts as that signal: watchParent() polls process.ppid, which changes when the parent
 * exits and the process is handed to init.
 */

/** Call `onGone` once if the parent process exits (only under npm); returns a function that stops watching. */
export function watchParent(onGone: () => void, everyMs = 200): () => void {
  if (process.env.npm_lifecycle_event === undefined) return () => {};
  const ppid = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === ppid) return;
    clearInterval(timer);
    onGone();
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
