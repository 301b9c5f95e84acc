// Node 18 (Debian's nodejs) has WebCrypto but not as a global; the browser
// and Node 20+ do.
import { webcrypto } from 'node:crypto';

if (!globalThis.crypto) globalThis.crypto = webcrypto;
