// The Blindpass web chat. It uses only @blindpass/client: the page learns
// the issuer and redeemer URLs from config.json next to it, keeps the wallet
// in IndexedDB, buys through the issuer's checkout and chats with the
// redeemer's premium gateway, paying each message with tokens.

import {
  BlindpassClient, BlindpassError, ChallengeChangedError, type FetchProgress, type Model, type Plan, ProblemError, Wallet, type WalletOrder,
} from '@blindpass/client';

interface Config {
  issuer_url: string;
  redeemer_url: string;
}

interface Message {
  role: 'user' | 'assistant';
  content: string;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

let client: BlindpassClient;
let wallet: Wallet;
let models: Model[] = [];
const history: Message[] = [];
let retryBody: Record<string, unknown> | undefined;
let busy = false;

function showStatus(kind: 'error' | 'info' | 'ok', text: string, hint?: string): void {
  const el = $('status');
  el.className = 'status' + (kind === 'error' ? '' : ' ' + kind);
  el.textContent = text;
  if (hint) {
    const h = document.createElement('span');
    h.className = 'hint';
    h.textContent = hint;
    el.append(h);
  }
  el.hidden = false;
}

function clearStatus(): void {
  $('status').hidden = true;
}

function showError(e: unknown): void {
  $('trust').hidden = !(e instanceof ChallengeChangedError);
  if (e instanceof BlindpassError) {
    showStatus('error', sentence(e), e.hint);
  } else {
    showStatus('error', (e as Error)?.message ?? String(e));
  }
}

function sentence(e: BlindpassError): string {
  switch (e.code) {
    case 'no_tokens':
      return 'You have no tokens left for this model.';
    case 'redeemer_unreachable':
      return 'The chat service cannot be reached right now.';
    case 'issuer_unreachable':
      return 'The token shop cannot be reached right now.';
    case 'stream_cut':
      return 'The answer was cut off.';
    case 'token_spent':
      return 'These tokens were already spent.';
    case 'challenge_changed':
      return `The chat service changed its token challenge (${e.message.replace(/^.*\(/, '(')}.`;
    default:
      return e.message.charAt(0).toUpperCase() + e.message.slice(1) + '.';
  }
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

async function refreshBalance(): Promise<void> {
  try {
    const n = await client.balance();
    $('balance').textContent = String(n);
    $('empty').hidden = n > 0 || $('messages').childElementCount > 0;
    const held = (await wallet.held()).reduce((n, h) => n + h.tokens.length, 0);
    const el = $('held');
    el.hidden = held === 0;
    el.textContent = held ? `(${held} kept for a retry)` : '';
  } catch (e) {
    showError(e);
  }
}

function formatPrice(p: Plan): string {
  return `${(p.price / 100).toFixed(2)} ${p.currency.toUpperCase()}`;
}

async function loadPlans(): Promise<void> {
  const ul = $('plans');
  try {
    const plans = await client.plans();
    ul.replaceChildren();
    for (const p of plans) {
      const li = document.createElement('li');
      const label = document.createElement('span');
      label.textContent = `${p.name}: ${p.tokens} tokens, ${formatPrice(p)}`;
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = 'Buy';
      b.dataset['plan'] = p.id;
      b.addEventListener('click', () => void buy(p, b));
      li.append(label, b);
      ul.append(li);
    }
    if (plans.length === 0) ul.innerHTML = '<li class="muted">Nothing is on sale.</li>';
  } catch (e) {
    ul.innerHTML = '<li class="muted">Plans are unavailable.</li>';
    showError(e);
  }
}

async function buy(p: Plan, b: HTMLButtonElement): Promise<void> {
  b.disabled = true;
  try {
    // The order and its secret are in IndexedDB before the page leaves.
    const { checkoutURL } = await client.createOrder(p.id);
    showStatus('info', 'Your order is saved in this browser. Opening the checkout…');
    window.location.assign(checkoutURL);
  } catch (e) {
    showError(e);
    b.disabled = false;
  }
}

function showProgress(p: FetchProgress | undefined): void {
  const box = $('progress');
  if (!p) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const bar = $<HTMLProgressElement>('progress-bar');
  bar.max = p.total;
  bar.value = p.done;
  $('progress-text').textContent = `Fetching tokens: ${p.done} of ${p.total}`;
}

/** Finishes what orders of this issuer still owe: waits for a payment, fetches tokens. */
async function resumeOrders(): Promise<void> {
  const run = async () => {
    // Batches interrupted by a closed page or a lost answer come first.
    const recovered = await client.resumePending();
    if (recovered > 0) showStatus('ok', `${recovered} tokens of an interrupted fetch are in your wallet.`);
    const orders = (await wallet.orders()).filter((o) => o.issuer_url === client.issuerURL && !o.exhausted);
    for (const o of orders) await resumeOrder(o);
  };
  const locks = (navigator as Navigator & { locks?: LockManager }).locks;
  try {
    // One tab at a time fetches tokens; the others see the balance rise.
    if (locks) await locks.request('blindpass-fetch', run);
    else await run();
  } catch (e) {
    showError(e);
  } finally {
    showProgress(undefined);
    await refreshBalance();
  }
}

async function resumeOrder(o: WalletOrder): Promise<void> {
  let st = await client.orderStatus(o);
  if (st.status === 'pending') {
    if (Date.now() - Date.parse(o.created) > 24 * 3600_000) return;
    showStatus('info', `Waiting for the payment of order ${st.order_id}…`, 'Finish the checkout; this page notices when it is paid.');
    st = await client.waitPaid(o, { intervalMs: 1500 });
  }
  if (st.status !== 'paid') return;
  if (st.credits_remaining <= 0) {
    await wallet.addOrder({ ...o, exhausted: true });
    return;
  }
  showStatus('info', `Payment received. Fetching ${st.credits_remaining} tokens…`);
  const n = await client.fetchTokens(o, {
    count: st.credits_remaining,
    onProgress: (p) => {
      showProgress(p);
      void refreshBalance();
    },
  });
  showStatus('ok', `${n} tokens are in your wallet.`);
}

async function loadModels(): Promise<void> {
  const sel = $<HTMLSelectElement>('model');
  try {
    models = await client.models();
  } catch (e) {
    showError(e);
    return;
  }
  sel.replaceChildren();
  for (const m of models) {
    const opt = document.createElement('option');
    opt.value = m.id;
    opt.textContent = `${m.id} (${m.cost === 0 ? 'free' : m.cost === 1 ? '1 token' : m.cost + ' tokens'})`;
    sel.append(opt);
  }
  const premium = models.find((m) => m.cost > 0);
  if (premium) sel.value = premium.id;
  showCost();
}

function showCost(): void {
  const m = models.find((x) => x.id === $<HTMLSelectElement>('model').value);
  $('cost').textContent = m ? (m.cost === 0 ? 'free' : `costs ${m.cost} token${m.cost === 1 ? '' : 's'} per message`) : '';
}

function bubble(role: Message['role'], text: string): HTMLLIElement {
  const li = document.createElement('li');
  li.className = role;
  li.textContent = text;
  $('messages').append(li);
  $('empty').hidden = true;
  li.scrollIntoView({ block: 'end' });
  return li;
}

async function send(body: Record<string, unknown>): Promise<void> {
  if (busy) return;
  busy = true;
  $<HTMLButtonElement>('send').disabled = true;
  $('retry').hidden = true;
  clearStatus();
  const cost = models.find((m) => m.id === body['model'])?.cost ?? 1;
  const out = bubble('assistant', '');
  out.classList.add('streaming');
  try {
    const text = await client.chat(body, { cost, onDelta: (d) => {
      out.textContent += d;
      out.scrollIntoView({ block: 'end' });
    } });
    history.push({ role: 'assistant', content: text });
    retryBody = undefined;
  } catch (e) {
    out.remove();
    showError(e);
    // A retry sends exactly the same request: tokens kept for it are reused,
    // none are spent twice.
    const retriable = !(e instanceof BlindpassError) || ['redeemer_unreachable', 'stream_cut', 'server_error'].includes(e.code) ||
      (e instanceof ProblemError && e.tokensConsumed !== true);
    if (retriable) {
      retryBody = body;
      $('retry').hidden = false;
    }
  } finally {
    out.classList.remove('streaming');
    busy = false;
    $<HTMLButtonElement>('send').disabled = false;
    await refreshBalance();
  }
}

async function onSubmit(ev: Event): Promise<void> {
  ev.preventDefault();
  const prompt = $<HTMLTextAreaElement>('prompt');
  const content = prompt.value.trim();
  if (!content || busy) return;
  if (retryBody) history.pop(); // the unanswered question is replaced
  prompt.value = '';
  history.push({ role: 'user', content });
  bubble('user', content);
  await send({ model: $<HTMLSelectElement>('model').value, messages: history.slice() });
}

async function trust(): Promise<void> {
  try {
    const { digest } = await client.trustChallenge();
    $('trust').hidden = true;
    showStatus('ok', `The new challenge is accepted (digest ${digest.slice(0, 16)}…).`,
      'Tokens made for the old challenge stay in the wallet but are not spent here.');
    await refreshBalance();
  } catch (e) {
    showError(e);
  }
}

async function exportWallet(): Promise<void> {
  try {
    const text = await wallet.exportJSON();
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
    a.download = `blindpass-wallet-${new Date().toISOString().slice(0, 10)}.json`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    showStatus('info', 'Wallet exported.', 'The tokens are still in this browser too: spend each token from one place only.');
  } catch (e) {
    showError(e);
  }
}

async function importWallet(input: HTMLInputElement): Promise<void> {
  const f = input.files?.[0];
  if (!f) return;
  try {
    const res = await wallet.importJSON(await f.text());
    if (res.pendingSkipped > 0) {
      showStatus('info', `Imported ${plural(res.tokens, 'token', 'tokens')} and ${plural(res.orders, 'order', 'orders')}.`,
        `${res.pendingSkipped} interrupted token fetches of the command line were left out: finish them there with \`blindpass refill\`.`);
    } else {
      showStatus('ok', `Imported ${plural(res.tokens, 'token', 'tokens')} and ${plural(res.orders, 'order', 'orders')}.`);
    }
    await refreshBalance();
    if (res.orders > 0) void resumeOrders();
  } catch (e) {
    showError(e);
  } finally {
    input.value = '';
  }
}

async function main(): Promise<void> {
  const resp = await fetch('config.json', { cache: 'no-store' });
  const cfg = (await resp.json()) as Config;
  wallet = await Wallet.open();
  client = new BlindpassClient({
    issuerURL: cfg.issuer_url,
    redeemerURL: cfg.redeemer_url,
    wallet,
    onRefill: (e) => {
      if (e.progress) showProgress(e.progress);
      if (e.stored !== undefined || e.error) showProgress(undefined);
      if (e.error) showError(e.error);
      void refreshBalance();
    },
  });
  await wallet.setSettings({ issuer_url: client.issuerURL, redeemer_url: client.redeemerURL });

  $('composer').addEventListener('submit', (ev) => void onSubmit(ev));
  $('prompt').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey) {
      ev.preventDefault();
      $<HTMLFormElement>('composer').requestSubmit();
    }
  });
  $('retry').addEventListener('click', () => {
    if (retryBody) void send(retryBody);
  });
  $('model').addEventListener('change', showCost);
  $('trust').addEventListener('click', () => void trust());
  $('export').addEventListener('click', () => void exportWallet());
  $('import').addEventListener('change', (ev) => void importWallet(ev.target as HTMLInputElement));
  window.addEventListener('focus', () => void refreshBalance());
  setInterval(() => void refreshBalance(), 4000);

  await refreshBalance();
  await Promise.all([loadPlans(), loadModels()]);
  try {
    await client.challenge(); // the balance counts the tokens this redeemer takes
  } catch (e) {
    showError(e);
  }
  await refreshBalance();
  document.body.dataset['ready'] = 'true';
  await resumeOrders();
}

main().catch((e) => showError(e));
