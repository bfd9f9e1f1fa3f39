// The live feed's client side (ADR 21): a WebSocket to /v1/live that reconnects with capped
// exponential backoff and resumes from the last sequence number it saw, so a reconnect
// neither misses nor repeats a change.

const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 10_000;

/**
 * Connects and keeps connected. `onSnapshot(message)` gets the whole state, `onChange(message)`
 * each change in order, `onState(state, detail)` 'connecting' | 'live' | 'reconnecting'.
 */
export function connectFeed({ onSnapshot, onChange, onState }) {
  let seq = 0;
  let epoch;
  let attempt = 0;

  function url() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const resume = epoch ? `?since=${seq}&epoch=${epoch}` : '';
    return `${scheme}//${location.host}/v1/live${resume}`;
  }

  function open() {
    onState(attempt === 0 ? 'connecting' : 'reconnecting', attempt > 0 ? `attempt ${attempt}` : '');
    const socket = new WebSocket(url());
    socket.addEventListener('message', (event) => {
      const message = JSON.parse(event.data);
      if (message.type === 'snapshot') {
        seq = message.seq;
        epoch = message.epoch;
        attempt = 0;
        onState('live', '');
        onSnapshot(message);
        return;
      }
      // A change already seen (a replay overlapping what we have) is skipped.
      if (message.seq <= seq) return;
      // A gap cannot happen on one connection; if it did, start over from a snapshot.
      if (message.seq !== seq + 1) {
        epoch = undefined;
        socket.close();
        return;
      }
      seq = message.seq;
      onChange(message);
    });
    // A resumed connection gets no snapshot: it is live once open.
    socket.addEventListener('open', () => {
      if (epoch) {
        attempt = 0;
        onState('live', '');
      }
    });
    socket.addEventListener('close', (event) => {
      attempt += 1;
      // Capped exponential backoff with jitter, so that many pages do not return at once.
      const delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (attempt - 1));
      onState('reconnecting', `closed (${event.code}${event.reason ? `: ${event.reason}` : ''})`);
      setTimeout(open, delay / 2 + Math.random() * (delay / 2));
    });
  }

  open();
}
