/**
 * The WHATWG face of a WebSocket, so browser code runs unchanged in Node: event objects and
 * `onopen`/`onmessage`/`onclose`/`onerror`/`addEventListener`, layered over the EventEmitter
 * events ('open', 'message', 'close', 'error') that the connection emits.
 */
import { EventEmitter } from 'node:events';
import { useFastListenerTable } from './listener-table.js';
import type { MessageData, WebSocket } from './websocket.js';

/** Minimal WHATWG-style event objects (Node 20 lacks a global CloseEvent). */
export class WebSocketEvent {
  constructor(readonly type: string, readonly target: WebSocket) {}
}
export class MessageEvent extends WebSocketEvent {
  constructor(target: WebSocket, readonly data: string | MessageData) {
    super('message', target);
  }
}
export class CloseEvent extends WebSocketEvent {
  constructor(target: WebSocket, readonly code: number, readonly reason: string, readonly wasClean: boolean) {
    super('close', target);
  }
}
export class ErrorEvent extends WebSocketEvent {
  readonly message: string;
  constructor(target: WebSocket, readonly error: unknown) {
    super('error', target);
    this.message = error instanceof Error ? error.message : String(error);
  }
}

type EventListenerFn = (event: any) => void;
type EventListenerLike = EventListenerFn | { handleEvent(event: any): void };
const kListener = Symbol('switchboard.listener');
const kOnProperty = Symbol('switchboard.onProperty');
type Wrapper = ((...args: any[]) => void) & { [kListener]?: EventListenerLike; [kOnProperty]?: boolean };

/** EventEmitter plus the WHATWG listener surface; {@link WebSocket} extends it. */
export abstract class WhatwgEventTarget extends EventEmitter {
  constructor() {
    super();
    useFastListenerTable(this);
  }

  /** Whether both close frames were exchanged (reported in `CloseEvent.wasClean`). */
  abstract get wasClean(): boolean;

  /** The connection, as events name it in `target`. */
  private get eventTarget(): WebSocket {
    return this as unknown as WebSocket;
  }

  get onopen(): EventListenerFn | null {
    return this._getOn('open');
  }
  set onopen(fn: EventListenerFn | null) {
    this._setOn('open', fn);
  }
  get onmessage(): EventListenerFn | null {
    return this._getOn('message');
  }
  set onmessage(fn: EventListenerFn | null) {
    this._setOn('message', fn);
  }
  get onclose(): EventListenerFn | null {
    return this._getOn('close');
  }
  set onclose(fn: EventListenerFn | null) {
    this._setOn('close', fn);
  }
  get onerror(): EventListenerFn | null {
    return this._getOn('error');
  }
  set onerror(fn: EventListenerFn | null) {
    this._setOn('error', fn);
  }

  private _getOn(type: string): EventListenerFn | null {
    for (const listener of this.rawListeners(type) as Wrapper[]) {
      if (listener[kOnProperty]) return listener[kListener] as EventListenerFn;
    }
    return null;
  }

  private _setOn(type: string, fn: EventListenerFn | null): void {
    for (const listener of this.rawListeners(type) as Wrapper[]) {
      if (listener[kOnProperty]) this.removeListener(type, listener);
    }
    if (typeof fn === 'function') this._addWrapped(type, fn, false, true);
  }

  /** WHATWG `addEventListener` for 'open', 'message', 'close' and 'error'. */
  addEventListener(type: string, listener: EventListenerLike, options?: { once?: boolean } | boolean): void {
    if (typeof listener !== 'function' && typeof listener?.handleEvent !== 'function') return;
    for (const existing of this.rawListeners(type) as Wrapper[]) {
      if (existing[kListener] === listener && !existing[kOnProperty]) return;
    }
    this._addWrapped(type, listener, typeof options === 'object' && options.once === true, false);
  }

  /** WHATWG `removeEventListener`. */
  removeEventListener(type: string, listener: EventListenerLike): void {
    for (const existing of this.rawListeners(type) as Wrapper[]) {
      if (existing[kListener] === listener && !existing[kOnProperty]) {
        this.removeListener(type, existing);
        return;
      }
    }
  }

  private _addWrapped(type: string, listener: EventListenerLike, once: boolean, onProperty: boolean): void {
    const call = (event: WebSocketEvent): void => {
      if (typeof listener === 'function') listener.call(this, event);
      else listener.handleEvent(event);
    };
    let wrapper: Wrapper;
    switch (type) {
      case 'message':
        wrapper = (data: MessageData, isBinary: boolean) =>
          call(new MessageEvent(this.eventTarget, isBinary ? data : (data as Buffer).toString()));
        break;
      case 'close':
        wrapper = (code: number, reason: Buffer) => call(new CloseEvent(this.eventTarget, code, reason.toString(), this.wasClean));
        break;
      case 'error':
        wrapper = (error: unknown) => call(new ErrorEvent(this.eventTarget, error));
        break;
      case 'open':
        wrapper = () => call(new WebSocketEvent('open', this.eventTarget));
        break;
      default:
        return;
    }
    wrapper[kListener] = listener;
    wrapper[kOnProperty] = onProperty;
    if (once) this.once(type, wrapper);
    else this.on(type, wrapper);
  }
}
