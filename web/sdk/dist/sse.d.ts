/** One parsed `data:` payload of a chat completion chunk. */
export interface ChatChunk {
    choices?: {
        delta?: {
            content?: string;
        };
        finish_reason?: string | null;
    }[];
    [k: string]: unknown;
}
/**
 * Reads an SSE body and yields each event's data (joined data lines),
 * stopping at `data: [DONE]`. A body that ends without [DONE], or an
 * event carrying {"error":{...}} (the gateway's stream_cut event), throws
 * StreamCutError.
 */
export declare function sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string>;
