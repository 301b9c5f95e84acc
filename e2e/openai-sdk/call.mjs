// One call of the official, unmodified openai npm package, as an app would
// make it: default retries (2), the app's own API key, organization and
// end-user identifiers. Driven by e2e/openai_sdk_test.go, which reads the
// one JSON line this prints.
//
//   node call.mjs '{"baseURL":"http://127.0.0.1:8787/v1","model":"blindpass-pro","prompt":"…","stream":false,"timeoutMs":0}'
import OpenAI from 'openai';

const args = JSON.parse(process.argv[2]);
const client = new OpenAI({
  baseURL: args.baseURL,
  apiKey: 'sk-app-dummy-key',
  organization: 'org-alice',
  project: 'proj-alice',
  ...(args.timeoutMs ? { timeout: args.timeoutMs } : {}),
});
const request = {
  model: args.model,
  messages: [{ role: 'user', content: args.prompt }],
  user: 'alice@example.com',
  safety_identifier: 'sid-alice',
  prompt_cache_key: 'pck-alice',
  metadata: { user_id: 'alice' },
};

const result = { ok: false, content: '' };
try {
  if (args.stream) {
    const stream = await client.chat.completions.create({ ...request, stream: true });
    for await (const chunk of stream) {
      result.content += chunk.choices?.[0]?.delta?.content ?? '';
    }
  } else {
    const completion = await client.chat.completions.create(request);
    result.content = completion.choices[0].message.content;
    result.model = completion.model;
  }
  result.ok = true;
} catch (err) {
  result.class = err?.constructor?.name ?? typeof err;
  result.message = String(err?.message ?? err);
  result.status = err?.status ?? null;
  result.code = err?.code ?? null;
  result.type = err?.type ?? null;
  result.tokens_consumed = err?.error?.tokens_consumed ?? null;
}
process.stdout.write(JSON.stringify(result) + '\n');
