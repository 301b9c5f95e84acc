// Drives bhttp-js (an independent RFC 9292 implementation, unmodified) for
// e2e/bhttp_interop_test.go.
//
//   node interop.mjs encode              prints {"request": hex, "response": hex}
//   node interop.mjs decode REQ RES      decodes hex made by ohttp/bhttp, prints it as JSON
import { BHttpDecoder, BHttpEncoder } from "bhttp-js";

const hex = (b) => Buffer.from(new Uint8Array(b)).toString("hex");
const unhex = (s) => new Uint8Array(Buffer.from(s, "hex")).buffer;

async function main() {
  const [mode, reqHex, resHex] = process.argv.slice(2);
  if (mode === "encode") {
    const enc = new BHttpEncoder();
    const req = new Request("https://redeemer.example/v1/chat/completions?stream=1", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Authorization": 'PrivateToken token="abc="' },
      body: '{"model":"blindpass-pro"}',
    });
    const res = new Response("data: hello\n\n", {
      status: 201,
      headers: { "Content-Type": "text/event-stream", "Blindpass-Tokens-Consumed": "true" },
    });
    console.log(JSON.stringify({ request: hex(await enc.encodeRequest(req)), response: hex(await enc.encodeResponse(res)) }));
    return;
  }
  if (mode === "decode") {
    const dec = new BHttpDecoder();
    const req = dec.decodeRequest(unhex(reqHex));
    const res = dec.decodeResponse(unhex(resHex));
    console.log(JSON.stringify({
      method: req.method,
      url: req.url,
      requestHeaders: Object.fromEntries(req.headers),
      requestBody: await req.text(),
      status: res.status,
      responseHeaders: Object.fromEntries(res.headers),
      responseBody: await res.text(),
    }));
    return;
  }
  throw new Error("usage: node interop.mjs encode | decode REQ RES");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
