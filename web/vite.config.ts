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
    // Ajv (behind @rjsf) is the largest dependency and only the model form needs it; keep it out of the entry.
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: {
      '/v1': process.env.SILOPOOL_API ?? 'http://localhost:3000',
      '/docs': process.env.SILOPOOL_API ?? 'http://localhost:3000',
    },
  },
});
