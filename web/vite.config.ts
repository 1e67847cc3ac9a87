import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

const root = fileURLToPath(new URL('.', import.meta.url));

// The API server serves web/dist on its own origin, so the dev server proxies API paths to it.
export default defineConfig({
  root,
  plugins: [
    react(),
    // An installable portal: the manifest, and our own service worker (web/src/sw.ts) with the precache
    // list injected, since it also handles pushes. main.tsx registers it (no inline script: the CSP).
    VitePWA({
      strategies: 'injectManifest',
      srcDir: 'src',
      filename: 'sw.ts',
      injectRegister: false,
      injectManifest: {
        rollupFormat: 'iife',
        globPatterns: ['**/*.{js,css,html,png,svg,woff,woff2}'],
      },
      manifest: {
        id: '/',
        name: 'Silopool',
        short_name: 'Silopool',
        description: 'Run financial models, follow your jobs and download their workbooks.',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        orientation: 'any',
        theme_color: '#0b5cad',
        background_color: '#ffffff',
        icons: [
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          { src: '/icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
    }),
  ],
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
