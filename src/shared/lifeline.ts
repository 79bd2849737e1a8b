/**
 * Nothing outlives faultline: a lifeline is a tiny supervisor (`/bin/sh`, in its own process group and
 * session, so a signal to faultline's group does not reach it) holding the read end of a pipe whose
 * write end only faultline has. When faultline ends for any reason — SIGKILL included — the kernel
 * closes the pipe; the supervisor reads EOF and stops what it was told to watch: processes (checked
 * by a marker in their command line, so a recycled pid is never hit; their children too), process
 * groups, and paths to remove. A clean shutdown `release()`s it and it exits doing nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';

// The supervisor. Protocol, one line each: `pid N MARKER`, `group N`, `path P`, `release`.
const SCRIPT = `trap '' INT TERM HUP
pids=''; groups=''; paths=''
while IFS= read -r line; do
  case "$line" in
    release) exit 0 ;;
    "pid "*) pids="$pids
\${line#pid }" ;;
    "group "*) groups="$groups \${line#group }" ;;
    "path "*) paths="$paths
\${line#path }" ;;
  esac
done
alive() { [ -r "/proc/$1/cmdline" ] && tr '\\000' '\\n' < "/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"; }
kids() { for s in /proc/[0-9]*/stat; do read -r a b c d rest < "$s" 2>/dev/null || continue; [ "$d" = "$1" ] && echo "$a"; done; }
printf '%s\\n' "$pids" | while read -r pid marker; do
  [ -n "$pid" ] || continue
  alive "$pid" "$marker" || continue
  ks=$(kids "$pid")
  kill -18 "$pid" $ks 2>/dev/null
  kill -3 "$pid" 2>/dev/null
  n=0
  while [ $n -lt 30 ] && alive "$pid" "$marker"; do sleep 0.1; n=$((n+1)); done
  alive "$pid" "$marker" && kill -9 "$pid" 2>/dev/null
  for k in $ks; do alive "$k" postgres && kill -9 "$k" 2>/dev/null; done
done
for g in $groups; do kill -9 "-$g" 2>/dev/null; done
printf '%s\\n' "$paths" | while IFS= read -r p; do [ -n "$p" ] && rm -rf -- "$p"; done
exit 0
`;

export interface Lifeline {
  /** Stop this process (and its children) if faultline dies; only while its command line contains `marker`. */
  watchPid(pid: number, marker: string): void;
  /** Kill this process group if faultline dies. */
  watchGroup(pgid: number): void;
  /** Remove this path (recursively) if faultline dies, after the processes are stopped. */
  watchPath(path: string): void;
  /** faultline cleaned up itself: the supervisor exits and does nothing. */
  release(): void;
  /** The supervisor's pid (for tests). */
  readonly pid: number | undefined;
}

/** Starts a supervisor. It costs one small `sh` process; it holds nothing open in faultline's event loop. */
export function startLifeline(): Lifeline {
  const child: ChildProcess = spawn('/bin/sh', ['-c', SCRIPT, 'faultline-lifeline'], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  child.on('error', () => {});
  child.unref();
  const stdin = child.stdin;
  stdin?.on('error', () => {});
  (stdin as unknown as { unref?: () => void } | null)?.unref?.();
  let done = false;
  const send = (line: string): void => {
    if (done || !stdin || stdin.destroyed) return;
    if (/[\n\r]/.test(line)) throw new Error('lifeline lines cannot contain newlines');
    stdin.write(`${line}\n`);
  };
  return {
    pid: child.pid,
    watchPid: (pid, marker) => send(`pid ${pid} ${marker}`),
    watchGroup: (pgid) => send(`group ${pgid}`),
    watchPath: (path) => send(`path ${path}`),
    release() {
      if (done) return;
      send('release');
      done = true;
      stdin?.end();
    },
  };
}
