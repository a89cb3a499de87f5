import type { IncomingMessage, ServerResponse } from "node:http";
import type { FastifyBaseLogger } from "fastify";
import type { ModelServer } from "../serving/index.js";
import { INFERENCE_HEADER_LENGTH, inferRequestDocument } from "../serving/index.js";
import { REQUEST_LIMITS } from "../spec-fields.js";
import { bearerToken, roleAtLeast, type Principal, type TokenVerifier } from "./auth.js";
import { errorBody, errorHeaders, handledError } from "./errors.js";
import { parseJsonText } from "./json-body.js";
import { keelPredict, oipError, oipInfer, type InferAnswer, type ScoringCaller } from "./scoring.js";

/** What the fast path answers with: the app's model server, auth and error translation. */
export interface ScoringFastPathOptions {
  readonly serving: ModelServer;
  /** Bearer tokens are checked when set; undefined with auth off. */
  readonly auth: { readonly verifier: TokenVerifier | undefined } | undefined;
  /** The app's driver error translation, as its error handler applies it. */
  readonly translateError: ((e: unknown) => unknown) | undefined;
}

/** An endpoint or model name as Fastify's router would pass it on unchanged (no escapes, no dot segments). */
const NAME = `([A-Za-z0-9_-][A-Za-z0-9._-]{0,${REQUEST_LIMITS.pathParamChars - 1}})`;
const PREDICT = new RegExp(`^/api/keel/endpoints/${NAME}/predict$`);
const INFER = new RegExp(`^/v2/models/${NAME}/infer$`);

/** The JSON content types both routes' Fastify parsers take as they are. */
const JSON_TYPES: ReadonlySet<string> = new Set(["application/json", "application/json; charset=utf-8"]);

const JSON_TYPE = "application/json; charset=utf-8";

type Route = "predict" | "infer";

/**
 * The two single-record scoring routes answered straight on node:http, in front of Fastify:
 * `POST /api/keel/endpoints/{name}/predict` and `POST /v2/models/{name}/infer`. Routing, the
 * content-type parser chain, hooks and the reply pipeline cost more per request than scoring one
 * row. It takes only requests it answers exactly as the Fastify routes would (the same scoring,
 * body parsing, error bodies, headers and metrics, in scoring.ts and json-body.ts) and hands
 * everything else to Fastify untouched: other routes, other content types, chunked or empty
 * bodies, requests without a bearer token when auth is on, tokens that fail the check (Fastify
 * answers the 401 or 403), and every request while Fastify logs requests or is closing. A hook
 * added to the app for every request (onRequest, preHandler, onSend, onResponse) bypasses this
 * path: it must be mirrored here, or make the path stand aside.
 */
export class ScoringFastPath {
  /** Off while Fastify logs every request (log level info or finer) and once it is closing. */
  enabled = false;

  constructor(
    private readonly options: ScoringFastPathOptions,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Answers the request and returns true, or returns false having touched nothing. */
  handle(req: IncomingMessage, res: ServerResponse, fallback: (req: IncomingMessage, res: ServerResponse) => void) {
    if (!this.enabled || req.method !== "POST") return false;
    const url = req.url ?? "";
    let route: Route;
    let match = PREDICT.exec(url);
    if (match !== null) route = "predict";
    else {
      match = INFER.exec(url);
      if (match === null) return false;
      route = "infer";
    }
    const headers = req.headers;
    const type = headers["content-type"];
    if (type === undefined || !JSON_TYPES.has(type) || headers["transfer-encoding"] !== undefined) return false;
    if (route === "infer" && headers[INFERENCE_HEADER_LENGTH] !== undefined) return false;
    const length = Number(headers["content-length"]);
    if (!(length > 0 && length <= REQUEST_LIMITS.bodyBytes)) return false;
    const name = match[1] as string;
    const auth = this.options.auth;
    if (auth === undefined) {
      this.read(req, res, route, name, undefined);
      return true;
    }
    const authorization = headers.authorization;
    if (auth.verifier === undefined || authorization === undefined || !/^Bearer\s/i.test(authorization)) return false;
    let token: string;
    try {
      token = bearerToken(authorization);
    } catch {
      return false;
    }
    // A refused token goes to Fastify (the body is still unread), which answers as it always does.
    auth.verifier.verify(token).then(
      (principal) => {
        if (principal !== undefined && roleAtLeast(principal.role, "predictor"))
          this.read(req, res, route, name, principal);
        else fallback(req, res);
      },
      () => fallback(req, res),
    );
    return true;
  }

  private read(
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
    name: string,
    principal: Principal | undefined,
  ) {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      if (route === "predict") this.predict(res, name, body, { headers: req.headers, principal });
      else this.infer(res, name, body, { headers: req.headers, principal });
    });
  }

  private predict(res: ServerResponse, name: string, body: Buffer, caller: ScoringCaller) {
    let parsed: unknown;
    try {
      parsed = parseJsonText(body.toString("utf8"));
    } catch (e) {
      this.keelError(res, e);
      return;
    }
    keelPredict(this.options.serving, name, parsed, caller).then(
      (json) => send(res, 200, JSON_TYPE, json),
      (e: unknown) => this.keelError(res, e),
    );
  }

  private infer(res: ServerResponse, name: string, body: Buffer, caller: ScoringCaller) {
    let parsed: unknown;
    try {
      parsed = inferRequestDocument(body, undefined);
    } catch (e) {
      this.oipError(res, e);
      return;
    }
    oipInfer(this.options.serving, name, undefined, parsed, caller).then(
      (answer) => sendInferAnswer(res, answer),
      (e: unknown) => this.oipError(res, e),
    );
  }

  private keelError(res: ServerResponse, thrown: unknown): void {
    const { raw, error, status } = handledError(thrown, this.options.translateError);
    if (status >= 500) this.log.error({ err: raw }, "request failed");
    send(res, status, JSON_TYPE, JSON.stringify(errorBody(error)), errorHeaders(status));
  }

  private oipError(res: ServerResponse, raw: unknown): void {
    const { status, body } = oipError(raw);
    if (status >= 500) this.log.error({ err: raw }, "inference request failed");
    send(res, status, JSON_TYPE, JSON.stringify(body));
  }
}

function sendInferAnswer(res: ServerResponse, answer: InferAnswer): void {
  if ("json" in answer) send(res, 200, JSON_TYPE, answer.json);
  else
    send(res, 200, "application/octet-stream", answer.binary.body, {
      [INFERENCE_HEADER_LENGTH]: String(answer.binary.headerLength),
    });
}

/** The answer with the headers Fastify's reply writes for it, in its order. */
function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  extra?: Readonly<Record<string, string>>,
): void {
  const length = typeof body === "string" ? Buffer.byteLength(body) : body.length;
  res.writeHead(status, { ...extra, "content-type": type, "content-length": length });
  res.end(body);
}
