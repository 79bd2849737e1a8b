import type net from 'node:net';

/**
 * Abort a TCP connection with an RST where the OS allows it, and always free the socket.
 *
 * libuv refuses an RST (SO_LINGER 0) while a shutdown is queued — a FIN waiting behind bytes the peer
 * has not read (`end()` called, not yet finished). Node then leaves the handle half-closed for ever:
 * the fd leaks and, at exit, Node's environment cleanup waits on that handle in a busy loop at 100 %
 * CPU. In that state the socket is destroyed instead (the kernel sends its FIN once the queue drains).
 */
export function resetSocket(s: net.Socket): void {
  if (s.destroyed) return;
  const finQueued = s.writableEnded && !s.writableFinished;
  if (finQueued || s.connecting || s.readyState === 'opening') s.destroy();
  else s.resetAndDestroy();
}
