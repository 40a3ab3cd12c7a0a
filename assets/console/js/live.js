// The live feed: GET /api/v1/alerts/ws?token=…, reconnecting with backoff.
//
// Each server message is re-dispatched as a CustomEvent named after its
// `type` (`unread_count`, `alert.created`, `alert.updated`) with the message
// as `detail`. Besides those: `state` ({connected}) when the socket opens or
// drops, `resync` when it reconnects after a drop (messages may have been
// missed), and `expired` ({reason}) when the server closes it because the
// token expired (4001) or the session ended (4003: signed out, password
// changed or reset, or "account deactivated").
// `state` turns connected on the first message (the unread count the server
// sends once it is subscribed), so from then on no alert can be missed.

import { api, session } from './api.js';

const TOKEN_EXPIRED = 4001;
const SESSION_ENDED = 4003;
const MAX_DELAY_MS = 30_000;

export class LiveFeed extends EventTarget {
  #socket = null;
  #timer = 0;
  #failures = 0;
  #wasConnected = false;
  #running = false;

  start() {
    this.stop();
    this.#running = true;
    this.#wasConnected = false;
    this.#open();
  }

  stop() {
    this.#running = false;
    clearTimeout(this.#timer);
    const socket = this.#socket;
    this.#socket = null;
    socket?.close(1000, 'signed out');
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  #open() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = `${scheme}//${location.host}/api/v1/alerts/ws?token=${encodeURIComponent(session.token ?? '')}`;
    const socket = new WebSocket(url);
    this.#socket = socket;
    let subscribed = false;
    socket.addEventListener('message', (event) => {
      if (!subscribed) {
        subscribed = true;
        this.#failures = 0;
        this.#emit('state', { connected: true });
        if (this.#wasConnected) this.#emit('resync', {});
        this.#wasConnected = true;
      }
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (typeof message?.type === 'string') this.#emit(message.type, message);
    });
    socket.addEventListener('close', (event) => {
      if (socket !== this.#socket || !this.#running) return;
      this.#socket = null;
      this.#emit('state', { connected: false });
      if (event.code === TOKEN_EXPIRED || event.code === SESSION_ENDED) this.#emit('expired', { reason: event.reason });
      else this.#retry();
    });
  }

  /** Waits 1 s, 2 s, 4 s … up to 30 s (with jitter), checks the token still works, reopens. */
  #retry() {
    const delay = Math.min(MAX_DELAY_MS, 1000 * 2 ** this.#failures) * (0.5 + Math.random() / 2);
    this.#failures += 1;
    this.#timer = setTimeout(async () => {
      if (!this.#running) return;
      try {
        // A 401 here signs the user out (api.js); the socket alone cannot tell why it failed.
        await api('GET', '/api/v1/auth/me');
      } catch (error) {
        if (error.status === 401) return;
        if (this.#running) this.#retry();
        return;
      }
      if (this.#running) this.#open();
    }, delay);
  }
}
