// Minimal types for the v2-era clients installed under aliases (the packages ship none we can use).

declare module 'engine.io-client-v3' {
  /** engine.io-client 3: an Engine.IO protocol v3 session. */
  interface EioV3Socket {
    id: string;
    readyState: string;
    transport: { name: string };
    binaryType: string;
    on(event: string, listener: (...args: any[]) => void): this;
    once(event: string, listener: (...args: any[]) => void): this;
    off(event: string, listener?: (...args: any[]) => void): this;
    send(data: string | Buffer | ArrayBuffer, options?: unknown, cb?: () => void): void;
    close(): void;
  }
  const Socket: new (uri: string, options?: Record<string, unknown>) => EioV3Socket;
  export default Socket;
  export type { EioV3Socket };
}

declare module 'socket.io-client-v2' {
  /** socket.io-client 2: a namespace socket on Socket.IO protocol v4. */
  interface SioV2Socket {
    id: string;
    connected: boolean;
    io: { engine: { id: string; transport: { name: string }; once(event: string, fn: (...args: any[]) => void): unknown }; reconnection(v: boolean): unknown };
    on(event: string, listener: (...args: any[]) => void): this;
    once(event: string, listener: (...args: any[]) => void): this;
    off(event: string, listener?: (...args: any[]) => void): this;
    emit(event: string, ...args: any[]): this;
    binary(flag: boolean): this;
    open(): this;
    close(): this;
    disconnect(): this;
  }
  const io: (uri: string, options?: Record<string, unknown>) => SioV2Socket;
  export default io;
  export type { SioV2Socket };
}
