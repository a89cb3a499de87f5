import { InvalidParameterError } from "../errors.js";

/**
 * What a `keel server` process does (docs/deploy.md). `api`: the MLflow REST API and keel's API
 * (tracking, registry, promotion, rollouts, review, labels, monitoring, features, decisions, prompts,
 * traces). `serving`: loads and serves models (OIP V2, `/invocations`, the predict API, `/metrics`)
 * and the LLM gateway. `scheduler`: monitor windows, the review SLA check, retraining policies,
 * canary advance and trace retention — each on one replica at a time, through its lease.
 */
export const SERVER_ROLES = ["api", "serving", "scheduler"] as const;
export type ServerRole = (typeof SERVER_ROLES)[number];

/** `--roles api,serving`: the roles named, each once; every role when none is given. */
export function parseRoles(text: string | undefined): readonly ServerRole[] {
  if (text === undefined) return SERVER_ROLES;
  const names = text.split(",").map((r) => r.trim());
  const rule = `must be a comma-separated list of ${SERVER_ROLES.join(", ")}`;
  for (const name of names) {
    if (!(SERVER_ROLES as readonly string[]).includes(name)) {
      throw new InvalidParameterError(
        `roles = ${JSON.stringify(text)}: ${JSON.stringify(name)} is not a role; ${rule}`,
        {
          details: { field: "roles", value: text },
        },
      );
    }
  }
  return SERVER_ROLES.filter((r) => names.includes(r));
}
