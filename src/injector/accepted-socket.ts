/**
 * Accepted sockets that read into a caller-owned buffer.
 *
 * `net.connect` takes an `onread` option (reads land in a buffer the caller owns, handed to a
 * callback, with no Buffer, stream push or `data` event per read); `net.Server` has no such option
 * for the sockets it accepts. The proxy's listener is created with `pauseOnConnect`, so an accepted
 * socket has not read a byte yet; `withOnread` moves its handle into a new `net.Socket` built with
 * `onread` (the documented `handle` and `onread` options of the Socket constructor) and destroys the
 * empty shell, which releases the server's connection count as a closed connection would.
 *
 * Moving the handle reads the socket's `_handle` property, which Node has had since 0.x but does not
 * document. Where it is missing the accepted socket is returned as it is, flowing, with the `onread`
 * callback receiving each chunk it emits: slower, never wrong.
 */
import net from 'node:net';

export interface OnreadOptions {
  /** The buffer for the next read (called after every read). */
  buffer: () => Buffer;
  /** `n` bytes were read into `buf` (the buffer `buffer()` returned). */
  callback: (n: number, buf: Buffer) => boolean;
}

export function withOnread(accepted: net.Socket, onread: OnreadOptions): net.Socket {
  const shell = accepted as unknown as { _handle: unknown };
  const handle = shell._handle;
  if (handle === null || handle === undefined || accepted.destroyed) {
    accepted.on('data', (d: Buffer) => onread.callback(d.length, d));
    accepted.resume();
    return accepted;
  }
  shell._handle = null;
  accepted.destroy();
  return new net.Socket({ handle, allowHalfOpen: true, onread } as net.SocketConstructorOpts);
}
