// Server-sent events of an OpenAI-compatible chat stream.

import { StreamCutError } from './errors.js';

/** One parsed `data:` payload of a chat completion chunk. */
export interface ChatChunk {
  choices?: { delta?: { content?: string }; finish_reason?: string | null }[];
  [k: string]: unknown;
}

/**
 * Reads an SSE body and yields each event's data (joined data lines),
 * stopping at `data: [DONE]`. A body that ends without [DONE], or an
 * event carrying {"error":{...}} (the gateway's stream_cut event), throws
 * StreamCutError.
 */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  let data: string[] = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        if (line === '') {
          if (data.length > 0) {
            const ev = data.join('\n');
            data = [];
            if (ev === '[DONE]') return;
            checkError(ev);
            yield ev;
          }
          continue;
        }
        if (line.startsWith(':')) continue;
        if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
    }
  } finally {
    reader.releaseLock();
  }
  throw new StreamCutError('the answer was cut off before its end');
}

function checkError(ev: string): void {
  if (!ev.startsWith('{"error"')) return;
  let msg = 'the answer was cut off';
  try {
    const e = JSON.parse(ev) as { error?: { message?: string } };
    if (e.error?.message) msg = e.error.message;
  } catch {
    /* keep the default message */
  }
  throw new StreamCutError(msg);
}
