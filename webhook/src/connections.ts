// A cap on the TLS connections served at once, that makes connections past it wait instead of
// failing. Each connection served costs about 25 KB (OpenSSL's state, Node's socket and HTTP
// parser); one waiting costs a socket object and a file descriptor, with no TLS state. So 5,000
// connections opened at once are served `max` at a time and none is refused, while memory stays
// that of `max`.
//
// The gate sits in front of the HTTPS server's own 'connection' listener (which starts TLS). A
// new connection is first read from until its first bytes arrive (a client's TLS ClientHello
// comes at once); only then does it queue for a slot, and it is handed to TLS when one is free,
// first come first served. So connections that say nothing (a flood of bare TCP connections)
// never hold a slot: they wait outside until `firstBytesTimeoutMs` and are closed. A connection
// waiting for a slot is closed after `queueTimeoutMs` (the apiserver would have given up by its
// timeoutSeconds anyway, and a fast failure lets it apply the failurePolicy at once), and past
// `queueMax` waiting, new ones are closed at once. While any wait for a slot, the server answers
// with `Connection: close` (see `pressure`), so slots turn over.
//
// Of the connections served, at most `maxHandshakes` are in their TLS handshake at once. A full
// handshake costs Node about a millisecond of CPU (twice that with a client certificate), and
// when hundreds run interleaved on the one event loop they all finish late together, each past
// its timeout; a few dozen at a time finish one after the other, in order of arrival.
import type { Socket } from 'node:net';
import type { Server as TlsServer } from 'node:tls';

export interface GateOptions {
  /** Connections served at once: handshaking, reading a request, or idle between requests. */
  max: number;
  /** Of those, connections in their TLS handshake at once. */
  maxHandshakes: number;
  /** Connections that may wait (for their first bytes or for a slot); past it new ones are closed. */
  queueMax: number;
  /** How long a connection may wait for a slot once it has spoken. */
  queueTimeoutMs: number;
  /** How long a new connection may take to send its first bytes. */
  firstBytesTimeoutMs: number;
}

export type DropReason = 'queue_full' | 'queue_timeout' | 'silent' | 'closing';

export interface GateEvents {
  onDrop(reason: DropReason): void;
}

interface Waiting {
  socket: Socket;
  timer: NodeJS.Timeout;
  ready: boolean;
  gone: boolean;
  onReadable: () => void;
}

export class ConnectionGate {
  private active = 0;
  private handshaking = 0;
  /** Served sockets whose TLS handshake has not ended yet. */
  private readonly inHandshake = new WeakSet<Socket>();
  /** Connections that have spoken, in order, waiting for a slot (with departed ones skipped). */
  private readonly ready: Waiting[] = [];
  private head = 0;
  private waiting = 0;
  private readyWaiting = 0;
  private closed = false;
  private readonly serve: (socket: Socket) => void;

  constructor(
    server: TlsServer,
    private readonly opts: GateOptions,
    private readonly events: GateEvents,
  ) {
    // tls.Server starts TLS from its 'connection' listener: keep it, call it when a slot is free.
    const listeners = server.listeners('connection') as ((socket: Socket) => void)[];
    server.removeAllListeners('connection');
    this.serve = (socket) => {
      for (const l of listeners) l.call(server, socket);
    };
    server.on('connection', (socket: Socket) => this.onConnection(socket));
    // A handshake ends in a secure connection or a TLS error (or the socket closing). The TLS
    // socket's `_parent` is the socket it wraps (Node has kept it so since TLS was rewritten on
    // TLSWrap); without it, the count falls back to the socket closing.
    const ended = (tlsSocket: unknown): void => {
      const parent = (tlsSocket as { _parent?: unknown } | undefined)?._parent;
      if (parent && typeof parent === 'object') this.handshakeEnded(parent as Socket);
    };
    server.on('secureConnection', ended);
    server.on('tlsClientError', (_err: Error, tlsSocket: unknown) => ended(tlsSocket));
  }

  private handshakeEnded(socket: Socket): void {
    if (!this.inHandshake.delete(socket)) return;
    this.handshaking--;
    this.pump();
  }

  /** Connections served now, waiting for a slot, and waiting for their first bytes. */
  stats(): { active: number; handshaking: number; waiting: number; silent: number } {
    return {
      active: this.active,
      handshaking: this.handshaking,
      waiting: this.readyWaiting,
      silent: this.waiting - this.readyWaiting,
    };
  }

  /** Whether connections that have spoken wait for a slot. */
  get pressure(): boolean {
    return this.readyWaiting > 0;
  }

  /** Stop serving waiting connections (shutdown): they are closed, as a closed listener would. */
  close(): void {
    this.closed = true;
    for (let i = this.head; i < this.ready.length; i++) this.drop(this.ready[i]!, 'closing');
    this.ready.length = 0;
    this.head = 0;
    for (const w of this.silent) this.drop(w, 'closing');
    this.silent.clear();
  }

  private readonly silent = new Set<Waiting>();

  private onConnection(socket: Socket): void {
    // A reset while waiting (or before TLS has taken the socket) must not be an unhandled
    // 'error' event: that would end the process.
    socket.on('error', () => undefined);
    if (this.closed) {
      socket.destroy();
      this.events.onDrop('closing');
      return;
    }
    if (this.waiting >= this.opts.queueMax) {
      socket.destroy();
      this.events.onDrop('queue_full');
      return;
    }
    const w: Waiting = {
      socket,
      ready: false,
      gone: false,
      timer: setTimeout(() => {
        this.drop(w, w.ready ? 'queue_timeout' : 'silent');
        this.compact();
      }, this.opts.firstBytesTimeoutMs),
      // The first bytes are read into the socket's buffer, where TLS finds them (Node's TLSSocket
      // takes whatever a socket it wraps has buffered).
      onReadable: () => this.spoke(w),
    };
    w.timer.unref();
    socket.once('readable', w.onReadable);
    // the client gave up while waiting
    socket.once('close', () => this.leave(w));
    this.silent.add(w);
    this.waiting++;
  }

  private spoke(w: Waiting): void {
    if (w.gone || w.ready) return;
    this.silent.delete(w);
    if (w.socket.readableLength === 0) {
      // end of stream before any byte: nothing to serve
      this.drop(w, 'silent');
      return;
    }
    w.ready = true;
    this.readyWaiting++;
    clearTimeout(w.timer);
    this.ready.push(w);
    if (this.hasSlot()) {
      this.pump();
      return;
    }
    w.timer = setTimeout(() => {
      this.drop(w, 'queue_timeout');
      this.compact();
    }, this.opts.queueTimeoutMs);
    w.timer.unref();
  }

  private leave(w: Waiting): void {
    if (w.gone) return;
    w.gone = true;
    clearTimeout(w.timer);
    this.waiting--;
    if (w.ready) this.readyWaiting--;
    else this.silent.delete(w);
  }

  private drop(w: Waiting, reason: DropReason): void {
    if (w.gone) return;
    this.leave(w);
    w.socket.destroy();
    this.events.onDrop(reason);
  }

  private hasSlot(): boolean {
    return this.active < this.opts.max && this.handshaking < this.opts.maxHandshakes;
  }

  private admit(socket: Socket): void {
    this.active++;
    this.handshaking++;
    this.inHandshake.add(socket);
    socket.once('close', () => {
      this.active--;
      if (this.inHandshake.delete(socket)) this.handshaking--;
      this.pump();
    });
    this.serve(socket);
  }

  private pump(): void {
    while (this.hasSlot() && this.head < this.ready.length) {
      const w = this.ready[this.head++]!;
      if (w.gone) continue;
      this.leave(w);
      w.socket.off('readable', w.onReadable);
      if (w.socket.destroyed) continue;
      this.admit(w.socket);
    }
    this.compact();
  }

  /** Drops the served and departed entries from the front of the queue array now and then. */
  private compact(): void {
    while (this.head < this.ready.length && this.ready[this.head]!.gone) this.head++;
    if (this.head === this.ready.length) {
      this.ready.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.ready.length) {
      this.ready.splice(0, this.head);
      this.head = 0;
    }
  }
}
