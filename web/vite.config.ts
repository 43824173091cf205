import { defineConfig } from "vite";
import preact from "@preact/preset-vite";
import { VitePWA } from "vite-plugin-pwa";
import { fileURLToPath } from "node:url";

// Ongi Field: built from web/field/index.html to web/dist/field/, served by the service at /app/.
export default defineConfig({
  root: fileURLToPath(new URL("./field", import.meta.url)),
  base: "/app/",
  build: {
    outDir: fileURLToPath(new URL("./dist/field", import.meta.url)),
    emptyOutDir: true,
    target: "es2020",
  },
  plugins: [
    preact(),
    VitePWA({
      registerType: "autoUpdate",
      injectRegister: false,
      filename: "sw.js",
      scope: "/app/",
      manifest: {
        name: "온기 현장 (Ongi Field)",
        short_name: "온기 현장",
        lang: "ko",
        start_url: "/app/",
        scope: "/app/",
        display: "standalone",
        background_color: "#ffffff",
        theme_color: "#b5451b",
        icons: [{ src: "icon.svg", sizes: "any", type: "image/svg+xml", purpose: "any" }],
      },
      workbox: {
        cacheId: "ongi",
        globPatterns: ["**/*.{js,css,html,svg,webmanifest}"],
        navigateFallback: "/app/index.html",
        navigateFallbackDenylist: [/^\/v1\//],
        cleanupOutdatedCaches: true,
        clientsClaim: true,
        skipWaiting: true,
      },
    }),
  ],
  test: {
    root: fileURLToPath(new URL(".", import.meta.url)),
    include: ["src/**/*.test.ts"],
    environment: "node",
    setupFiles: ["src/test-setup.ts"],
  },
} as any);
