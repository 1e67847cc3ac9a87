import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

// The API server serves web/dist on its own origin, so the dev server proxies API paths to it.
export default defineConfig({
  root,
  plugins: [react()],
  build: {
    outDir: `${root}dist`,
    emptyOutDir: true,
  },
  server: {
    proxy: {
      '/v1': process.env.SILOPOOL_API ?? 'http://localhost:3000',
      '/docs': process.env.SILOPOOL_API ?? 'http://localhost:3000',
    },
  },
});
