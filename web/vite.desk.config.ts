import { defineConfig } from "vite";
import preact from "@preact/preset-vite";
import { fileURLToPath } from "node:url";

// Ongi Desk: built from web/desk/index.html to web/dist/desk/, served by the service at /desk/. No service
// worker: the console works online only and keeps nothing personal in the browser (tokens in sessionStorage).
export default defineConfig({
  root: fileURLToPath(new URL("./desk", import.meta.url)),
  base: "/desk/",
  build: {
    outDir: fileURLToPath(new URL("./dist/desk", import.meta.url)),
    emptyOutDir: true,
    target: "es2020",
  },
  plugins: [preact()],
});
