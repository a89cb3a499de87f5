import type { ComponentChildren, JSX } from "preact";
import { createContext } from "preact";
import { useCallback, useContext, useEffect, useState } from "preact/hooks";
import type { Caller, Role } from "./api.js";
import { errorText, roleAllows } from "./api.js";

export type Async<T> =
  | { readonly state: "loading" }
  | { readonly state: "error"; readonly error: string }
  | { readonly state: "ok"; readonly value: T };

/** Runs `load` when `deps` change; `reload` runs it again (after an action). */
export function useAsync<T>(load: () => Promise<T>, deps: readonly unknown[]): [Async<T>, () => void] {
  const [result, setResult] = useState<Async<T>>({ state: "loading" });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setResult((r) => (r.state === "ok" ? r : { state: "loading" }));
    load().then(
      (value) => live && setResult({ state: "ok", value }),
      (e: unknown) => live && setResult({ state: "error", error: errorText(e) }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return [result, reload];
}

/** The server's message, as it sent it. */
export function ErrorBox(props: { error: string }): JSX.Element {
  return (
    <div class="error" role="alert">
      {props.error}
    </div>
  );
}

/** An empty state that says what to run. */
export function Empty(props: { children: ComponentChildren }): JSX.Element {
  return <div class="empty">{props.children}</div>;
}

export function Loading(): JSX.Element {
  return (
    <p class="muted" aria-live="polite">
      Loading…
    </p>
  );
}

/** Renders `body` once `a` has loaded; the loading and error states otherwise. */
export function Loaded<T>(props: { a: Async<T>; children: (value: T) => ComponentChildren }): JSX.Element {
  if (props.a.state === "loading") return <Loading />;
  if (props.a.state === "error") return <ErrorBox error={props.a.error} />;
  return <>{props.children(props.a.value)}</>;
}

export const CallerContext = createContext<Caller>({ auth_enabled: false, name: null, role: "admin" });

/** Whether the signed-in caller's role allows `need` (the server checks again). */
export function useCan(need: Role): boolean {
  return roleAllows(useContext(CallerContext).role, need);
}

export function fmtTime(ms: number | string | null | undefined): string {
  if (ms === null || ms === undefined || ms === "") return "";
  const d = new Date(typeof ms === "string" && /^\d+$/.test(ms) ? Number(ms) : ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString().replace("T", " ").slice(0, 19);
}

/** Numbers as keel sends them: metric values may be the strings "NaN" or "Infinity", as in MLflow. */
export function fmtNum(value: number | string | null | undefined, digits = 4): string {
  if (value === null || value === undefined) return "";
  const v = Number(value);
  if (Number.isNaN(v)) return typeof value === "string" ? value : "";
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3 ? v.toExponential(3) : v.toFixed(digits);
}

export function PageTitle(props: { children: ComponentChildren }): JSX.Element {
  useEffect(() => {
    const text = typeof props.children === "string" ? props.children : "";
    if (text !== "") document.title = `${text} · keel`;
  }, [props.children]);
  return <h1>{props.children}</h1>;
}

/** A labelled key/value table. */
export function KeyValues(props: { caption: string; rows: readonly (readonly [string, ComponentChildren])[] }) {
  if (props.rows.length === 0) return <p class="muted">No {props.caption.toLowerCase()}.</p>;
  return (
    <table class="kv">
      <caption>{props.caption}</caption>
      <tbody>
        {props.rows.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
