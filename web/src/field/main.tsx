import { render } from "preact";
import { App } from "./app";
import { lang } from "../shared/i18n";
import "./style.css";

document.documentElement.lang = lang;
render(<App />, document.getElementById("root")!);

if ("serviceWorker" in navigator && import.meta.env.PROD) {
  // The app shell is precached by the Workbox service worker, so a reload offline serves it.
  void import("virtual:pwa-register").then(({ registerSW }) => registerSW({ immediate: true }));
}
