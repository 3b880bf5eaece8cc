import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const rootTsconfig = fileURLToPath(new URL('../../../tsconfig.json', import.meta.url));

/** A test page's script (`./fixtures/<name>.ts`), bundled for the browser with the client, as the page's one module. */
export async function bundlePage(name: string): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    tsconfig: rootTsconfig,
    write: false,
    logLevel: 'silent',
  });
  return (result.outputFiles[0] as { text: string }).text;
}
