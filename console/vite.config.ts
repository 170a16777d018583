import { defineConfig } from "vite";

// The built files go to dist/ (or --outDir); `stepflow server` serves them at / (see README.md).
// `npm run dev` proxies the API to a server on the default HTTP address.
export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: { target: "es2020", chunkSizeWarningLimit: 1024 },
  server: { proxy: { "/api": "http://127.0.0.1:7234" } },
});
