import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

// Built by `npm run build` (`vite build dashboard`) into dashboard/dist; `infra serve --ui` serves it under /ui/.
export default defineConfig({
  base: '/ui/',
  plugins: [preact()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, reportCompressedSize: false },
  logLevel: 'warn',
});
