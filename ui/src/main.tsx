import type { ComponentType, JSX } from "preact";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { Caller } from "./api.js";
import { client, errorText, storeToken, storedToken } from "./api.js";
import { Link, match, useLocation } from "./router.js";
import { CallerContext, ErrorBox, Loading } from "./ui.js";
import "./styles.css";

type Page = ComponentType<{ params: Record<string, string>; query: URLSearchParams }>;

/** Each page is its own chunk: the first page loads only what it shows. */
const ROUTES: readonly (readonly [string, () => Promise<Page>])[] = [
  ["/", () => import("./pages/experiments.js").then((m) => m.ExperimentsPage)],
  ["/experiments", () => import("./pages/experiments.js").then((m) => m.ExperimentsPage)],
  ["/experiments/:id", () => import("./pages/runs.js").then((m) => m.RunsPage)],
  ["/runs/:id", () => import("./pages/run.js").then((m) => m.RunPage)],
  ["/compare", () => import("./pages/compare.js").then((m) => m.ComparePage)],
  ["/models", () => import("./pages/models.js").then((m) => m.ModelsPage)],
  ["/models/:name", () => import("./pages/model.js").then((m) => m.ModelPage)],
  ["/monitoring", () => import("./pages/monitoring.js").then((m) => m.MonitoringPage)],
  ["/monitoring/:model", () => import("./pages/monitoring.js").then((m) => m.MonitoringPage)],
  ["/endpoints", () => import("./pages/endpoints.js").then((m) => m.EndpointsPage)],
  ["/endpoints/:model/rollout", () => import("./pages/rollout.js").then((m) => m.RolloutPage)],
  ["/audit", () => import("./pages/audit.js").then((m) => m.AuditPage)],
  ["/review", () => import("./pages/review.js").then((m) => m.ReviewPage)],
  ["/decisions", () => import("./pages/decisions.js").then((m) => m.DecisionsPage)],
  ["/decisions/:request_id", () => import("./pages/decision.js").then((m) => m.DecisionPage)],
];

const NAV: readonly (readonly [string, string])[] = [
  ["/", "Experiments"],
  ["/models", "Registry"],
  ["/monitoring", "Monitoring"],
  ["/endpoints", "Endpoints"],
  ["/audit", "Audit"],
  ["/review", "Review"],
  ["/decisions", "Decisions"],
];

function useTheme(): [string, () => void] {
  const preferred = matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  const [theme, setTheme] = useState(localStorage.getItem("keel.theme") ?? preferred);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  const toggle = () => {
    const next = theme === "dark" ? "light" : "dark";
    localStorage.setItem("keel.theme", next);
    document.documentElement.dataset.theme = next;
    setTheme(next);
  };
  return [theme, toggle];
}

function SignIn(props: { message: string; onToken: (t: string) => void }): JSX.Element {
  const [token, setToken] = useState("");
  return (
    <main id="main" class="signin">
      <h1>Sign in to keel</h1>
      <p>{props.message}</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          props.onToken(token.trim());
        }}
      >
        <label for="token">API token</label>
        <input
          id="token"
          type="password"
          autocomplete="off"
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
        <button type="submit">Sign in</button>
      </form>
      <p class="muted">
        An administrator makes tokens with <code>keel tokens create --name NAME --role reader</code>. The token is kept
        in this tab only (session storage).
      </p>
    </main>
  );
}

function Routed(props: { path: string; query: URLSearchParams }): JSX.Element {
  const [loaded, setLoaded] = useState<{ key: string; page: Page } | { key: string; error: string }>();
  const found = ROUTES.map(([pattern, load]) => ({ params: match(pattern, props.path), load, pattern })).find(
    (r) => r.params !== undefined,
  );
  const key = found?.pattern ?? "";
  useEffect(() => {
    if (found === undefined) return;
    found.load().then(
      (page) => setLoaded({ key, page }),
      (e: unknown) => setLoaded({ key, error: errorText(e) }),
    );
  }, [key]);
  if (found === undefined) return <ErrorBox error={`No page at ${props.path}.`} />;
  if (loaded === undefined || loaded.key !== key) return <Loading />;
  if ("error" in loaded) return <ErrorBox error={loaded.error} />;
  const Page = loaded.page;
  return <Page params={found.params ?? {}} query={props.query} />;
}

function App(): JSX.Element {
  const loc = useLocation();
  const [theme, toggleTheme] = useTheme();
  const [caller, setCaller] = useState<Caller | { error: string; unauthenticated: boolean }>();
  const [tokenTick, setTokenTick] = useState(0);
  useEffect(() => {
    client()
      .whoami()
      .then(setCaller, (e: unknown) =>
        setCaller({ error: errorText(e), unauthenticated: (e as { code?: string }).code === "UNAUTHENTICATED" }),
      );
  }, [tokenTick]);
  const signIn = (t: string) => {
    storeToken(t);
    setTokenTick((n) => n + 1);
  };
  const signOut = () => {
    storeToken(undefined);
    setCaller(undefined);
    setTokenTick((n) => n + 1);
  };
  if (caller === undefined) return <Loading />;
  if ("error" in caller) {
    if (caller.unauthenticated) {
      const message = storedToken() === undefined ? "This server has auth on: paste your API token." : caller.error;
      return <SignIn message={message} onToken={signIn} />;
    }
    return <ErrorBox error={caller.error} />;
  }
  const section = NAV.filter(([href]) => href !== "/").find(([href]) => loc.path.startsWith(href))?.[0] ?? "/";
  return (
    <CallerContext.Provider value={caller}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link href="/" class="brand">
          keel
        </Link>
        <nav aria-label="Sections">
          {NAV.map(([href, label]) => (
            <Link key={href} href={href} aria-current={href === section ? "page" : undefined}>
              {label}
            </Link>
          ))}
        </nav>
        <div class="who">
          <span data-testid="role">
            {caller.auth_enabled ? `${caller.name ?? ""} · ${caller.role}` : "auth off · admin"}
          </span>
          {caller.auth_enabled && (
            <button type="button" class="link" onClick={signOut}>
              Sign out
            </button>
          )}
          <button
            type="button"
            onClick={toggleTheme}
            aria-label={`Switch to ${theme === "dark" ? "light" : "dark"} theme`}
          >
            {theme === "dark" ? "☀" : "☾"}
          </button>
        </div>
      </header>
      <main id="main">
        <Routed path={loc.path} query={loc.query} />
      </main>
    </CallerContext.Provider>
  );
}

render(<App />, document.getElementById("app")!);
