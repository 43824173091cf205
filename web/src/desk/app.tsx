// Ongi Desk: the console for coordinators and admins at /desk/ (docs/apps.md, issue 19). Hash routes keep it one
// index.html: #/triage, #/households/<id>, #/assign/<household id>, #/work, #/campaign, #/imports, #/review,
// #/devices. Every action is a call to the public API under the caller's own token.
import { useEffect, useState } from "preact/hooks";
import { isLoggedIn, login, logout, me, onLoggedOut, type Me } from "./api";
import { t } from "./i18n";
import { ErrorText } from "./ui";
import { Triage } from "./triage";
import { HouseholdScreen } from "./household";
import { Assign, Work } from "./assign";
import { Campaign } from "./campaign";
import { Imports } from "./imports";
import { Devices, Review } from "./review";

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return hash;
}

export function App() {
  const [who, setWho] = useState<Me | null>(isLoggedIn() ? me() : null);
  useEffect(() => onLoggedOut(() => setWho(null)), []);
  if (!who) return <Login onIn={setWho} />;
  return <Shell who={who} onOut={() => setWho(null)} />;
}

function Login({ onIn }: { onIn: (m: Me) => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  return (
    <main id="main" class="login">
      <h1>{t("app_title")}</h1>
      <form
        data-testid="login-form"
        onSubmit={async (ev) => {
          ev.preventDefault();
          setBusy(true);
          setError(null);
          try {
            const m = await login(username, password);
            if (m.role !== "coordinator" && m.role !== "admin") {
              await logout();
              throw new Error(t("wrong_role"));
            }
            onIn(m);
          } catch (e) {
            setError(e);
          } finally {
            setBusy(false);
          }
        }}
      >
        <label for="username">{t("username")}</label>
        <input id="username" autocomplete="username" value={username} onInput={(e) => setUsername((e.target as HTMLInputElement).value)} />
        <label for="password">{t("password")}</label>
        <input
          id="password"
          type="password"
          autocomplete="current-password"
          value={password}
          onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
        />
        <button class="primary" type="submit" disabled={busy} data-testid="login-submit">
          {t("login")}
        </button>
        <ErrorText error={error} />
      </form>
    </main>
  );
}

type Route = { name: string; arg?: string };

function parse(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/");
  return { name: parts[0] || "", arg: parts[1] ? decodeURIComponent(parts[1]) : undefined };
}

function Shell({ who, onOut }: { who: Me; onOut: () => void }) {
  const route = parse(useHash());
  const admin = who.role === "admin";
  const links: [string, string][] = admin
    ? [
        ["review", t("nav_review")],
        ["devices", t("nav_devices")],
      ]
    : [
        ["triage", t("nav_triage")],
        ["campaign", t("nav_campaign")],
        ["work", t("nav_work")],
        ["imports", t("nav_imports")],
      ];
  const name = route.name || links[0][0];
  useEffect(() => {
    const el = document.getElementById("main");
    el?.focus({ preventScroll: true });
  }, [name, route.arg]);
  let screen;
  switch (name) {
    case "triage":
      screen = <Triage who={who} />;
      break;
    case "households":
      screen = <HouseholdScreen id={route.arg!} who={who} />;
      break;
    case "assign":
      screen = <Assign householdId={route.arg!} who={who} />;
      break;
    case "work":
      screen = <Work />;
      break;
    case "campaign":
      screen = <Campaign who={who} />;
      break;
    case "imports":
      screen = <Imports />;
      break;
    case "review":
      screen = <Review />;
      break;
    case "devices":
      screen = <Devices />;
      break;
    default:
      screen = <p>404</p>;
  }
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById("main")?.focus())}>
        {t("skip")}
      </a>
      <header>
        <h1>{t("app_title")}</h1>
        <nav aria-label={t("nav")}>
          {links.map(([k, l]) => (
            <a key={k} href={`#/${k}`} aria-current={name === k ? "page" : undefined} data-testid={`nav-${k}`}>
              {l}
            </a>
          ))}
        </nav>
        <span class="who" data-testid="who" data-role={who.role}>
          {who.display_name} · {who.organization?.name}
        </span>
        <button
          type="button"
          data-testid="logout"
          onClick={async () => {
            await logout();
            onOut();
          }}
        >
          {t("logout")}
        </button>
      </header>
      <main id="main" tabIndex={-1} data-screen={name}>
        {screen}
      </main>
    </>
  );
}
