// Builds the SDK (sdk/dist: an ES module plus type declarations) and the web
// chat (chat/dist: the static files blindpassd embeds). The output depends
// only on the sources and the locked packages: `npm ci && npm run build`
// must reproduce the committed files byte for byte (scripts/web-check).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const sdk = join(here, 'sdk');
const chat = join(here, 'chat');

for (const d of [join(sdk, 'dist'), join(chat, 'dist')]) {
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d, { recursive: true });
}

const common = {
  bundle: true,
  format: 'esm',
  target: 'es2022',
  platform: 'browser',
  charset: 'utf8',
  logLevel: 'warning',
};

// The package: one ES module; its dependencies stay imports for the
// application's bundler to resolve.
await esbuild.build({
  ...common,
  entryPoints: [join(sdk, 'src', 'index.ts')],
  outfile: join(sdk, 'dist', 'index.js'),
  external: ['@cloudflare/privacypass-ts', '@cloudflare/blindrsa-ts', 'idb'],
  legalComments: 'none',
});
execFileSync(process.execPath, [join(here, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', sdk], { stdio: 'inherit' });

// The chat: everything in one minified module, the page and its stylesheet.
await esbuild.build({
  ...common,
  entryPoints: [join(chat, 'src', 'app.ts')],
  outfile: join(chat, 'dist', 'app.js'),
  minify: true,
  legalComments: 'eof',
});
await esbuild.build({
  ...common,
  entryPoints: [join(chat, 'src', 'app.css')],
  outfile: join(chat, 'dist', 'app.css'),
  minify: true,
});
for (const f of readdirSync(join(chat, 'src'))) {
  if (f.endsWith('.html') || f.endsWith('.svg')) copyFileSync(join(chat, 'src', f), join(chat, 'dist', f));
}
